#!/usr/bin/env bash
# hack/bench-compression.sh IMAGE.qcow2: qcow2 compression, zstd against
# zlib (the default, kubebake build --compression), on this machine's CPU:
#   1. IMAGE is converted once to raw in a temporary directory (IMAGE is
#      only read);
#   2. RUNS times, alternating zlib and zstd, the raw disk is written as a
#      compressed qcow2 (qemu-img convert -c -O qcow2 -o compression_type=X,
#      what kubebake build runs) and the file's size recorded;
#   3. RUNS times, alternating, each result is read back and decompressed
#      (qemu-img convert into the null-co driver, which discards the data:
#      no disk writes in the figure; the qcow2 is in the page cache, so
#      this is decompression, not disk reads).
# Prints "BENCH name value unit" lines like hack/bench.sh: the medians and
# the zstd/zlib ratios. No assertions: these are figures.
#   RUNS    runs per compression type (default 3)
#   TMPDIR  where the raw disk and the results go (default /tmp; needs the
#           image's allocated size plus twice its compressed size)
set -euo pipefail
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "usage: $0 IMAGE.qcow2 (an image to read; it is not changed)" >&2
  exit 2
fi
image=$1
runs=${RUNS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-compression.XXXXXX")
trap 'rm -rf "$work"' EXIT
fig() { printf 'BENCH %-34s %12s %s\n' "$1" "$2" "$3"; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(round($(now) - $1, 2))"; }
median() { python3 -c 'import statistics,sys; print(statistics.median(float(a) for a in sys.argv[1:]))' "$@"; }
ratio() { python3 -c "print(round($1 / $2, 3) if $2 else 'n/a')"; }
list() { echo "$*" | tr ' ' ','; }

fig "qemu-img version" "$(qemu-img --version | sed -n '1s/^qemu-img version \([^ ]*\).*/\1/p')" ""
qemu-img convert -O raw "$image" "$work/disk.raw"
virtual=$(stat -c %s "$work/disk.raw")
fig "compression: raw virtual" "$virtual" bytes
fig "compression: raw allocated" "$(( $(stat -c %b "$work/disk.raw") * 512 ))" bytes

declare -A write size rd
for _ in $(seq "$runs"); do
  for t in zlib zstd; do
    s=$(now)
    qemu-img convert -c -O qcow2 -o compression_type="$t" "$work/disk.raw" "$work/$t.qcow2"
    write[$t]+=" $(elapsed "$s")"
    size[$t]+=" $(stat -c %s "$work/$t.qcow2")"
  done
done
rm -f "$work/disk.raw"
for _ in $(seq "$runs"); do
  for t in zlib zstd; do
    s=$(now)
    qemu-img convert -n -f qcow2 "$work/$t.qcow2" --target-image-opts "driver=null-co,size=$virtual"
    rd[$t]+=" $(elapsed "$s")"
  done
done

declare -A mw ms mr
for t in zlib zstd; do
  # shellcheck disable=SC2086 # the lists are words
  mw[$t]=$(median ${write[$t]})
  # shellcheck disable=SC2086
  ms[$t]=$(median ${size[$t]} | cut -d. -f1)
  # shellcheck disable=SC2086
  mr[$t]=$(median ${rd[$t]})
  # shellcheck disable=SC2086
  fig "compression: $t write, runs" "$(list ${write[$t]})" s
  fig "compression: $t write (median)" "${mw[$t]}" s
  # shellcheck disable=SC2086
  fig "compression: $t size, runs" "$(list ${size[$t]})" bytes
  fig "compression: $t size (median)" "${ms[$t]}" bytes
  # shellcheck disable=SC2086
  fig "compression: $t read, runs" "$(list ${rd[$t]})" s
  fig "compression: $t read (median)" "${mr[$t]}" s
done
fig "compression: zstd/zlib write time" "$(ratio "${mw[zstd]}" "${mw[zlib]}")" ratio
fig "compression: zstd/zlib size" "$(ratio "${ms[zstd]}" "${ms[zlib]}")" ratio
fig "compression: zstd/zlib read time" "$(ratio "${mr[zstd]}" "${mr[zlib]}")" ratio
