#!/usr/bin/env bash
# make e2e: the proof that kubebake bakes a node image end to end here.
#   base -> build (chroot mode) -> kubebake test
#        -> build (vm mode)     -> kubebake test
#   boot the chroot image with a NodeConfig for role init: firstboot renders
#   the kubeadm config and reaches kubeadm with a definite status.
# Prints every figure; the output is the evidence. Needs root.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${OUT:-out/e2e}
mkdir -p "$out"
base="$out/base-debian-13.qcow2"
fig() { printf 'FIGURE %-40s %s\n' "$1" "$2" | tee -a "$out/figures.txt"; }
: >"$out/figures.txt"

t=$SECONDS
OUT="$out/chroot" BASE="$base" MODE=chroot bash hack/image.sh
fig "base + chroot bake (s)" "$((SECONDS - t))"
fig "image size compressed (bytes)" "$(stat -c %s "$out/chroot/debian-13-containerd.qcow2")"
fig "image virtual size (bytes)" "$(qemu-img info --output=json "$out/chroot/debian-13-containerd.qcow2" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p' | head -n1)"

t=$SECONDS
bin/kubebake test "$out/chroot/debian-13-containerd.qcow2" --serial-log "$out/chroot/test-serial.log" \
  --report "$out/chroot/test.json" | tee "$out/chroot/test.txt"
fig "kubebake test, chroot image (s)" "$((SECONDS - t))"

t=$SECONDS
OUT="$out/vm" BASE="$base" MODE=vm bash hack/image.sh
fig "vm-mode bake (s)" "$((SECONDS - t))"
t=$SECONDS
bin/kubebake test "$out/vm/debian-13-containerd.qcow2" --serial-log "$out/vm/test-serial.log" \
  --report "$out/vm/test.json" | tee "$out/vm/test.txt"
fig "kubebake test, vm image (s)" "$((SECONDS - t))"

t=$SECONDS
bin/kubebake userdata testdata/e2e/init.yaml --kubernetes-version v1.36.3 >"$out/init-user-data"
bin/kubebake test "$out/chroot/debian-13-containerd.qcow2" --user-data "$out/init-user-data" \
  --serial-log "$out/init-serial.log" --report "$out/init.json" | tee "$out/init.txt"
fig "boot with NodeConfig init (s)" "$((SECONDS - t))"
grep -E 'kubebake-firstboot: (SUCCESS|FAILED)' "$out/init-serial.log" | tail -n1 || echo "no firstboot result line on the console"
echo
cat "$out/figures.txt"
