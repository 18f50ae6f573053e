#!/usr/bin/env bash
# The chroot bake against a fair floor (make bench runs it; it also runs on
# its own, as root). The floor is what a plain script would do for the same
# image: it installs, with plain apt-get in a chroot of a fresh copy of the
# same base, exactly the packages the rendered plan installs (plan.json's
# packages) in one transaction, copies in the same files (the plan's rootfs
# files and every input: the Kubernetes binaries and kubebake-firstboot),
# drops the package downloads and lists as the seal step does, gives the
# freed blocks back (fstrim) and writes the qcow2 with the same compression
# type as the bake's image (read from it), -c.
#
# Same apt state for both: each starts from the base's empty package lists
# and download cache, runs apt-get update and downloads every package from
# the base's mirror; neither gets a local cache warmed by the other. The
# runs alternate, and the order turns each round (bake first in odd rounds,
# the floor first in even ones), so a warm mirror, page cache or a busy
# neighbour does not favour one side; each side's median is reported.
#
# Knobs: OUT (out/bench), BASE (a base image; default OUT/base.qcow2, which
# make bench builds), BENCH_ROUNDS (3), KUBEBAKE (the kubebake whose bake is
# measured, default bin/kubebake; the plan the floor copies is always
# rendered by bin/kubebake), FIRSTBOOT (bin/kubebake-firstboot),
# K8S_VERSION (v1.36.3; its binaries in _build/k8s/VERSION/bin, from make
# k8s-bin). Prints "BENCH name value unit" lines, also appended to
# OUT/bench.txt; keeps the last bake's image in OUT/chroot.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${OUT:-out/bench}
k8s=${K8S_VERSION:-v1.36.3}
recipe=debian-13-containerd
base=${BASE:-$out/base.qcow2}
rounds=${BENCH_ROUNDS:-3}
kb=${KUBEBAKE:-bin/kubebake}
firstboot=${FIRSTBOOT:-bin/kubebake-firstboot}
bindir=_build/k8s/$k8s/bin
mkdir -p "$out"
fig() { printf 'BENCH %-34s %12s %s\n' "$1" "$2" "$3" | tee -a "$out/bench.txt"; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(round($(now) - $1, 1))"; }
median() { printf '%s\n' "$@" | sort -g | python3 -c 'import sys, statistics; print(round(statistics.median(float(l) for l in sys.stdin), 1))'; }

[ "$(id -u)" -eq 0 ] || { echo "bench-bake: needs root (chroot bakes)" >&2; exit 1; }
[ -f "$base" ] || { echo "bench-bake: no base image $base (make bench builds it; or BASE=IMAGE)" >&2; exit 1; }
[ -x "$bindir/kubelet" ] || { echo "bench-bake: no Kubernetes binaries in $bindir (make k8s-bin)" >&2; exit 1; }

# The plan the floor copies: its packages, files and inputs.
plan="$out/plan"
bin/kubebake render "$recipe" --dest "$plan" >/dev/null
mapfile -t packages < <(jq -r '.packages[]' "$plan/plan.json")
[ "${#packages[@]}" -gt 0 ] || { echo "bench-bake: $plan/plan.json lists no packages" >&2; exit 1; }
if jq -e '.steps[] | select(.name == "repositories")' "$plan/plan.json" >/dev/null; then
  echo "bench-bake: $recipe adds package repositories; the floor installs from the base's own" >&2
  exit 1
fi
# input_path NAME: the host file the bake stages as input NAME.
input_path() {
  case $1 in
    kubebake-firstboot) echo "$firstboot" ;;
    *) if [ -e "$bindir/$1" ]; then echo "$bindir/$1"; else jq -r --arg n "$1" '.inputs[] | select(.name == $n) | .hostPath' "$plan/plan.json"; fi ;;
  esac
}
mapfile -t inputs < <(jq -r '.inputs[].name' "$plan/plan.json")

# bake [LOG]: the bake, its output to LOG (default OUT/chroot.log).
bake() {
  rm -rf "$out/chroot"
  "$kb" build "$recipe" --mode chroot --base "$base" --dest "$out/chroot" \
    --kubernetes-binaries-dir "$bindir" --firstboot-binary "$firstboot" >"${1:-$out/chroot.log}" 2>&1
}

# bake_phases LOG: the bake's own phase times, from its log.
bake_phases() {
  local u p w
  u=$(sed -n 's/^kubebake: base image unpacked in \([0-9.]*\)s.*/\1/p' "$1")
  p=$(sed -n 's/^kubebake: provisioned in chroot in \([0-9.]*\)s.*/\1/p' "$1")
  w=$(sed -n 's/^kubebake: qcow2 image and manifest written in \([0-9.]*\)s.*/\1/p' "$1")
  echo "unpack ${u:-?} s, provision ${p:-?} s, write+manifest+sbom ${w:-?} s"
}

# The floor's mount and loop device, undone on any exit.
mnt="$out/floor/mnt" loop=
floor_cleanup() {
  if mountpoint -q "$mnt"; then umount -R -l "$mnt"; fi
  if [ -n "$loop" ]; then losetup -d "$loop" 2>/dev/null || true; fi
  loop=
}
trap floor_cleanup EXIT

# floor COMPRESSION_TYPE: the plain script, into OUT/floor/floor.qcow2;
# its phase times in floor_phases.
floor() {
  local dir="$out/floor" part d in t0 t1 t2 t3 t4
  rm -rf "$dir" && mkdir -p "$mnt"
  t0=$(now)
  qemu-img convert -O raw "$base" "$dir/disk.raw"
  part=$(sfdisk -J "$dir/disk.raw" | jq -r '.partitiontable.partitions[] | select(.name == "root" or (.type | ascii_upcase | startswith("0FC63DAF")) or (.type | ascii_upcase | startswith("4F68BCE3"))) | "\(.start * 512) \(.size * 512)"' | head -n1)
  loop=$(losetup --find --show --offset "${part% *}" --sizelimit "${part#* }" "$dir/disk.raw")
  mount "$loop" "$mnt"
  for d in proc sys dev; do mount --bind "/$d" "$mnt/$d"; done
  if [ -e "$mnt/etc/resolv.conf" ] || [ -L "$mnt/etc/resolv.conf" ]; then mv "$mnt/etc/resolv.conf" "$mnt/etc/resolv.conf.bench-orig"; fi
  cp /etc/resolv.conf "$mnt/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$mnt/usr/sbin/policy-rc.d" && chmod 0755 "$mnt/usr/sbin/policy-rc.d"
  t1=$(now)
  chroot "$mnt" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive bash -c \
    'apt-get update -q && apt-get install -y -q --no-install-recommends "$@" && apt-get clean && rm -rf /var/lib/apt/lists/*' \
    floor "${packages[@]}" >"${2:-$out/floor.log}" 2>&1
  t2=$(now)
  cp -a "$plan/rootfs/." "$mnt/"
  for in in "${inputs[@]}"; do install -m 0755 "$(input_path "$in")" "$mnt/usr/local/bin/$in"; done
  rm -f "$mnt/usr/sbin/policy-rc.d" "$mnt/etc/resolv.conf"
  if [ -e "$mnt/etc/resolv.conf.bench-orig" ] || [ -L "$mnt/etc/resolv.conf.bench-orig" ]; then mv "$mnt/etc/resolv.conf.bench-orig" "$mnt/etc/resolv.conf"; fi
  for d in dev sys proc; do umount -l "$mnt/$d"; done
  # fstrim finds the blocks of files deleted since the last commit only
  # once they are committed: sync first.
  sync -f "$mnt"
  fstrim "$mnt"
  umount "$mnt"
  losetup -d "$loop"
  loop=
  t3=$(now)
  qemu-img convert -q -c -O qcow2 -o "compression_type=$1" "$dir/disk.raw" "$dir/floor.qcow2"
  rm -f "$dir/disk.raw"
  t4=$(now)
  floor_phases=$(python3 -c "print(f'unpack+mount {$t1 - $t0:.1f} s, packages {$t2 - $t1:.1f} s, files+trim {$t3 - $t2:.1f} s, write {$t4 - $t3:.1f} s')")
}

# The bake's compression type (its image's), for the floor: a first bake
# when there is none yet (not counted).
image="$out/chroot/$recipe.qcow2"
[ -f "$image" ] || bake
compression=$(qemu-img info --output=json "$image" | jq -r '."format-specific".data."compression-type" // "zlib"')

bakes=() floors=()
for i in $(seq 1 "$rounds"); do
  order="bake floor"
  [ $((i % 2)) -eq 0 ] && order="floor bake"
  for side in $order; do
    t=$(now)
    if [ "$side" = bake ]; then
      bake "$out/chroot-r$i.log"
      bakes+=("$(since "$t")")
      fig "bake, chroot mode, round $i" "${bakes[-1]}" s
      fig "bake phases, round $i" "$(bake_phases "$out/chroot-r$i.log")" ""
    else
      floor "$compression" "$out/floor-r$i.log"
      floors+=("$(since "$t")")
      fig "floor, round $i" "${floors[-1]}" s
      fig "floor phases, round $i" "$floor_phases" ""
    fi
  done
done
b=$(median "${bakes[@]}") f=$(median "${floors[@]}")
fig "bake, chroot mode (median of $rounds)" "$b" s
fig "floor, plain apt (median of $rounds)" "$f" s
fig "bake / floor" "$(python3 -c "print(f'{$b / $f:.2f}')")" x
fig "image, compressed qcow2" "$(stat -c %s "$image")" bytes
fig "floor image, compressed ($compression)" "$(stat -c %s "$out/floor/floor.qcow2")" bytes
fig "packages installed (plan = floor)" "${#packages[@]}" ""
rm -rf "$out/floor"
