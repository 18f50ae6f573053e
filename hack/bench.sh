#!/usr/bin/env bash
# make bench: figures for the local build path, measured in one run.
#   - Go benchmarks: rendering every built-in recipe, firstboot's config phase, a NoCloud seed
#   - kubebake base debian-13 (package tarball cached after the first run)
#   - kubebake build debian-13-containerd in chroot mode (and vm mode with BENCH_VM=1: slow under TCG)
#   - the floor: the same packages installed into a fresh copy of the base with plain apt in a
#     chroot, the same binaries copied in, and the qcow2 written the same way
#   - image sizes, raw (allocated) and compressed
#   - boot to kubebake-firstboot start, from kubebake test
# Prints "BENCH name value unit" lines. No assertions: these are figures. Needs root.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${OUT:-out/bench}
k8s=v1.36.3
mkdir -p "$out"
fig() { printf 'BENCH %-34s %12s %s\n' "$1" "$2" "$3" | tee -a "$out/bench.txt"; }
: >"$out/bench.txt"
now() { date +%s.%N; }
since() { python3 -c "import sys; print(round($(now) - $1, 1))"; }

go test ./recipes/render ./firstboot ./internal/nocloud -run '^$' -bench . -benchmem -count=1 | tee "$out/go-bench.txt" | grep -E '^Benchmark'

bash hack/deps.sh
make --no-print-directory build >/dev/null
bash hack/k8s-bin.sh -v "$k8s" >/dev/null

t=$(now)
bin/kubebake base debian-13 --dest "$out/base.qcow2" >"$out/base.log" 2>&1
fig "base build (cached packages)" "$(since "$t")" s

t=$(now)
bin/kubebake build debian-13-containerd --mode chroot --base "$out/base.qcow2" --dest "$out/chroot" \
  --kubernetes-binaries-dir "_build/k8s/$k8s/bin" --firstboot-binary bin/kubebake-firstboot >"$out/chroot.log" 2>&1
fig "bake, chroot mode" "$(since "$t")" s
fig "image, compressed qcow2" "$(stat -c %s "$out/chroot/debian-13-containerd.qcow2")" bytes
qemu-img convert -O raw "$out/chroot/debian-13-containerd.qcow2" "$out/image.raw"
fig "image, raw allocated" "$(( $(stat -c %b "$out/image.raw") * 512 ))" bytes
fig "image, raw virtual" "$(stat -c %s "$out/image.raw")" bytes
rm -f "$out/image.raw"

if [ "${BENCH_VM:-0}" = 1 ]; then
  t=$(now)
  bin/kubebake build debian-13-containerd --mode vm --base "$out/base.qcow2" --dest "$out/vm" \
    --kubernetes-binaries-dir "_build/k8s/$k8s/bin" --firstboot-binary bin/kubebake-firstboot >"$out/vm.log" 2>&1
  fig "bake, vm mode" "$(since "$t")" s
fi

# The floor: plain apt in a chroot of a fresh copy of the base.
t=$(now)
floor="$out/floor"
rm -rf "$floor" && mkdir -p "$floor/mnt"
qemu-img convert -O raw "$out/base.qcow2" "$floor/disk.raw"
offset=$(sfdisk -J "$floor/disk.raw" | python3 -c 'import json,sys; p=[p for p in json.load(sys.stdin)["partitiontable"]["partitions"] if p.get("name")=="root" or p["type"].upper().startswith("0FC63DAF")][0]; print(p["start"]*512, p["size"]*512)')
loop=$(losetup --find --show --offset "${offset% *}" --sizelimit "${offset#* }" "$floor/disk.raw")
mount "$loop" "$floor/mnt"
for d in proc sys dev; do mount --bind "/$d" "$floor/mnt/$d"; done
if [ -e "$floor/mnt/etc/resolv.conf" ] || [ -L "$floor/mnt/etc/resolv.conf" ]; then
  mv "$floor/mnt/etc/resolv.conf" "$floor/mnt/etc/resolv.conf.bench-orig"
fi
cp /etc/resolv.conf "$floor/mnt/etc/resolv.conf"
chroot "$floor/mnt" env DEBIAN_FRONTEND=noninteractive bash -c \
  'apt-get update -q && apt-get install -y -q --no-install-recommends ca-certificates curl conntrack socat ethtool iproute2 iptables kmod util-linux containerd containernetworking-plugins && apt-get clean' >"$out/floor.log" 2>&1
install -m 0755 "_build/k8s/$k8s/bin/"{kubeadm,kubelet,kubectl,crictl} "$floor/mnt/usr/bin/"
rm -f "$floor/mnt/etc/resolv.conf"
if [ -e "$floor/mnt/etc/resolv.conf.bench-orig" ] || [ -L "$floor/mnt/etc/resolv.conf.bench-orig" ]; then
  mv "$floor/mnt/etc/resolv.conf.bench-orig" "$floor/mnt/etc/resolv.conf"
fi
for d in dev sys proc; do umount -l "$floor/mnt/$d"; done
fstrim "$floor/mnt" || true
umount "$floor/mnt"
losetup -d "$loop"
qemu-img convert -c -O qcow2 "$floor/disk.raw" "$floor/floor.qcow2"
fig "floor: plain apt in chroot + qcow2" "$(since "$t")" s
fig "floor image, compressed qcow2" "$(stat -c %s "$floor/floor.qcow2")" bytes
rm -rf "$floor"

t=$(now)
bin/kubebake test "$out/chroot/debian-13-containerd.qcow2" -o json >"$out/test.json" || true
fig "kubebake test (boot + checks)" "$(since "$t")" s
fig "boot to checks done" "$(python3 -c 'import json; print(round(json.load(open("'"$out/test.json"'"))["bootToChecksSeconds"],1))')" s
fig "kernel to kubebake-firstboot start" "$(python3 -c 'import json; print(json.load(open("'"$out/test.json"'")).get("metrics",{}).get("firstboot-start-seconds","n/a"))')" s
echo
cat "$out/bench.txt"
