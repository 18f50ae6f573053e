#!/usr/bin/env bash
# make e2e: the proof that kubebake bakes a node image end to end here.
#   base -> build (chroot mode) -> kubebake test
#        -> build (vm mode)     -> kubebake test
#   pre-load an image from a loopback registry in chroot mode -> kubebake test
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

# Pre-loading in chroot mode: containerd runs as a plain process in the
# chroot, pulls from a registry on loopback (an http mirror), checks the
# digest and pins the image; the booted image must have it, pinned.
t=$SECONDS
go build -o bin/testregistry ./hack/testregistry
bin/testregistry >"$out/registry.txt" &
registry=$!
trap 'kill "$registry" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do [ -s "$out/registry.txt" ] && break; sleep 0.2; done
read -r ref digest <"$out/registry.txt"
host=${ref%%/*}
cat >"$out/preload.yaml" <<RECIPE
apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: debian-13-containerd-preload
from: debian-13-containerd
runtime:
  mirrors:
    - registry: "$host"
      endpoints: ["http://$host"]
images:
  extra:
    - name: "$ref"
      digest: "$digest"
RECIPE
bin/kubebake build "$out/preload.yaml" --base "$base" --dest "$out/preload" \
  --kubernetes-binaries-dir _build/k8s/v1.36.3/bin --firstboot-binary bin/kubebake-firstboot
kill "$registry" 2>/dev/null || true
bin/kubebake test "$out/preload/debian-13-containerd-preload.qcow2" --serial-log "$out/preload/test-serial.log" \
  --report "$out/preload/test.json" | tee "$out/preload/test.txt"
grep -q "image-$ref .*PASS" "$out/preload/test.txt"
fig "chroot bake with a pre-loaded image + test (s)" "$((SECONDS - t))"

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
