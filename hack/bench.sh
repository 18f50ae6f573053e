#!/usr/bin/env bash
# make bench: figures for the local build path, measured in one run.
#   - Go benchmarks: rendering every built-in recipe, firstboot's config phase, a NoCloud seed
#   - kubebake base debian-13 (package tarball cached after the first run)
#   - kubebake build debian-13-containerd in chroot mode against its floor, the same plan's packages
#     and files put into a fresh copy of the base with plain apt in a chroot and the qcow2 written
#     the same way: BENCH_ROUNDS (3) alternated rounds, medians, the ratio (hack/bench-bake.sh)
#   - vm mode with BENCH_VM=1 (slow under TCG)
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

# BASE=IMAGE skips the base build and bakes on IMAGE.
base=${BASE:-}
if [ -z "$base" ]; then
  base="$out/base.qcow2"
  t=$(now)
  bin/kubebake base debian-13 --dest "$base" >"$out/base.log" 2>&1
  fig "base build (cached packages)" "$(since "$t")" s
fi

# The chroot bake against its fair floor, alternated, medians (hack/bench-bake.sh).
OUT="$out" BASE="$base" K8S_VERSION="$k8s" bash hack/bench-bake.sh
qemu-img convert -O raw "$out/chroot/debian-13-containerd.qcow2" "$out/image.raw"
fig "image, raw allocated" "$(( $(stat -c %b "$out/image.raw") * 512 ))" bytes
fig "image, raw virtual" "$(stat -c %s "$out/image.raw")" bytes
rm -f "$out/image.raw"

if [ "${BENCH_VM:-0}" = 1 ]; then
  t=$(now)
  bin/kubebake build debian-13-containerd --mode vm --base "$base" --dest "$out/vm" \
    --kubernetes-binaries-dir "_build/k8s/$k8s/bin" --firstboot-binary bin/kubebake-firstboot >"$out/vm.log" 2>&1
  fig "bake, vm mode" "$(since "$t")" s
fi

t=$(now)
bin/kubebake test "$out/chroot/debian-13-containerd.qcow2" -o json >"$out/test.json" || true
fig "kubebake test (boot + checks)" "$(since "$t")" s
fig "boot to checks done" "$(python3 -c 'import json; print(round(json.load(open("'"$out/test.json"'"))["bootToChecksSeconds"],1))')" s
fig "kernel to kubebake-firstboot start" "$(python3 -c 'import json; print(json.load(open("'"$out/test.json"'")).get("metrics",{}).get("firstboot-start-seconds","n/a"))')" s

# qcow2 compression, zstd against zlib, on the chroot-baked image (3 runs each, alternated).
TMPDIR="$out" bash hack/bench-compression.sh "$out/chroot/debian-13-containerd.qcow2" | tee -a "$out/bench.txt"
echo
cat "$out/bench.txt"
