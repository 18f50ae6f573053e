#!/usr/bin/env bash
# make bench-initramfs: issue #15's candidate "the initramfs and kernel
# command line of kubebake base", measured. Variants of one base image,
# booted alternately (the order turned every round), ROUNDS times each, with
# no NodeConfig, to the serial getty's login prompt:
#   most   the base as kubebake base writes it (initramfs-tools' MODULES=most)
#   list   MODULES=list with virtio_pci, virtio_blk and ext4 only: the
#          smallest initramfs that boots under this QEMU, a lower bound that
#          no image for clouds could ship (no NVMe, Xen, Hyper-V or SCSI)
#   quiet  the base with "quiet" added to the UKI's kernel command line
# Each variant is the base converted to raw, changed in a chroot (initramfs
# settings or /etc/kernel/cmdline), its initramfs and UKI rebuilt by the
# base's own hook (to a file; the host needs no vfat: mtools writes the UKI
# onto the ESP) and converted back to qcow2.
# Prints "BENCH name value unit" lines per boot and the medians: the sizes,
# the kernel's own times (printk, the guest's clock from the kernel's start:
# kernel -> /init, /init -> systemd; quiet prints none), and on the host's
# clock (from QEMU's start) power-on -> systemd's first console line and
# power-on -> the login prompt.
# Knobs: BASE (the base image; default out/base-debian-13.qcow2), OUT
# (out/bench-initramfs), ROUNDS (3), ACCEL (auto, kvm or tcg; auto uses KVM
# only where it runs a UEFI guest). Needs root (loop devices, chroot).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${OUT:-out/bench-initramfs}
base=${BASE:-out/base-debian-13.qcow2}
rounds=${ROUNDS:-3}
variants=(most list quiet)
fig() { printf 'BENCH %-44s %12s %s\n' "$1" "$2" "$3" | tee -a "$out/bench.txt"; }
median() { printf '%s\n' "$@" | python3 -c 'import sys, statistics; v=[float(l) for l in sys.stdin if l.strip()]; print(round(statistics.median(v), 2) if v else "-")'; }

[ "$(id -u)" -eq 0 ] || { echo "bench-initramfs: needs root (loop devices, chroot)" >&2; exit 1; }
[ -f "$base" ] || { echo "bench-initramfs: no base image $base (kubebake base, or BASE=IMAGE)" >&2; exit 1; }
for t in qemu-img qemu-system-x86_64 sfdisk jq losetup mcopy python3 go; do
  command -v "$t" >/dev/null || { echo "bench-initramfs: $t is missing (hack/deps.sh installs it)" >&2; exit 1; }
done
rm -rf "$out" && mkdir -p "$out"

# The accelerator, CPU model and firmware as the product resolves them
# (hack/qemuenv: KVM only when it runs a UEFI guest here, TCG otherwise).
accel='' cpu='' code='' vars=''
while IFS='=' read -r k v; do
  case $k in accel) accel=$v ;; cpu) cpu=$v ;; code) code=$v ;; vars) vars=$v ;; esac
done < <(go run ./hack/qemuenv -accel "${ACCEL:-auto}" -work "$out/firmware")
if [ -z "$accel" ] || [ -z "$vars" ]; then echo "bench-initramfs: hack/qemuenv failed" >&2; exit 1; fi
echo "bench-initramfs: boots under $accel, CPU $cpu, firmware $code"

# The chroot's mounts and loop device, undone on any exit.
mnt="$out/mnt" loop='' qemu=''
cleanup() {
  if [ -n "$qemu" ]; then kill "$qemu" 2>/dev/null || true; fi
  if mountpoint -q "$mnt"; then umount -R -l "$mnt"; fi
  if [ -n "$loop" ]; then losetup -d "$loop" 2>/dev/null || true; fi
}
trap cleanup EXIT

# partition RAW NAME-OR-TYPE-PREFIX: "offset size" in bytes.
partition() {
  sfdisk -J "$1" | jq -r --arg p "$2" '.partitiontable.partitions[] | select(.name == $p or (.type | ascii_upcase | startswith($p))) | "\(.start * 512) \(.size * 512)"' | head -n1
}

# variant NAME: OUT/NAME.qcow2, the base changed as NAME says.
variant() {
  local name=$1 raw="$out/$1.raw" part esp ver
  qemu-img convert -O raw "$base" "$raw"
  part=$(partition "$raw" root)
  esp=$(partition "$raw" C12A7328)
  if [ -z "$part" ] || [ -z "$esp" ]; then echo "bench-initramfs: $base has no root or ESP partition" >&2; exit 1; fi
  mkdir -p "$mnt"
  loop=$(losetup --find --show --offset "${part% *}" --sizelimit "${part#* }" "$raw")
  mount "$loop" "$mnt"
  for d in proc sys dev; do mount --bind "/$d" "$mnt/$d"; done
  case $name in
    list)
      printf 'MODULES=list\n' >"$mnt/etc/initramfs-tools/conf.d/zz-bench-initramfs.conf"
      printf 'virtio_pci\nvirtio_blk\next4\n' >>"$mnt/etc/initramfs-tools/modules" ;;
    quiet)
      sed -i 's/$/ quiet/' "$mnt/etc/kernel/cmdline" ;;
  esac
  ver=$(find "$mnt/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)
  chroot "$mnt" /usr/bin/env KUBEBAKE_UKI_OUTPUT=/tmp/bench-uki.efi update-initramfs -u -k "$ver" >"$out/$name-mkinitramfs.log" 2>&1
  mcopy -o -i "$raw@@${esp% *}" "$mnt/tmp/bench-uki.efi" ::/EFI/BOOT/BOOTX64.EFI
  fig "$name: initramfs" "$(stat -c %s "$mnt/boot/initrd.img-$ver")" bytes
  fig "$name: UKI" "$(stat -c %s "$mnt/tmp/bench-uki.efi")" bytes
  rm -f "$mnt/tmp/bench-uki.efi"
  for d in dev sys proc; do umount -l "$mnt/$d"; done
  umount "$mnt"
  losetup -d "$loop"
  loop=
  qemu-img convert -O qcow2 "$raw" "$out/$name.qcow2"
  rm -f "$raw"
}

# printk LOG PATTERN: the kernel's time of LOG's first line matching PATTERN
# (the first [seconds.micros] on it: systemd's line starts with terminal
# escapes that hold brackets too); empty when no line matches (quiet).
printk() { { grep -a -m1 "$2" "$1" | grep -o '\[ *[0-9]*\.[0-9]*\]' | head -n1 | tr -d '[] '; } || true; }

declare -A k2init init2sd host2sd host2login
# boot NAME ROUND: boots OUT/NAME.qcow2 (a snapshot) to the login prompt.
boot() {
  local name=$1 r=$2 log="$out/$1-$2.log" v="$out/vars-$1-$2.fd" t0 sd="" login="" i s d
  cp "$vars" "$v"
  : >"$log"
  t0=$(date +%s.%N)
  qemu-system-x86_64 -machine q35 -accel "$accel" -cpu "$cpu" -smp 2 -m 2048 -nodefaults -display none -no-reboot \
    -drive "if=pflash,format=raw,unit=0,readonly=on,file=$code" -drive "if=pflash,format=raw,unit=1,file=$v" \
    -drive "if=virtio,format=qcow2,file=$out/$name.qcow2" -snapshot -nic user,model=virtio-net-pci -serial "file:$log" &
  qemu=$!
  for _ in $(seq 1 3000); do
    if [ -z "$sd" ] && grep -aq 'systemd\[1\]: systemd [0-9]' "$log"; then sd=$(python3 -c "print(round($(date +%s.%N) - $t0, 2))"); fi
    if grep -aq ' login: ' "$log"; then login=$(python3 -c "print(round($(date +%s.%N) - $t0, 2))"); break; fi
    sleep 0.1
  done
  kill "$qemu"; wait "$qemu" 2>/dev/null || true
  qemu=
  rm -f "$v"
  [ -n "$login" ] || { echo "bench-initramfs: $name round $r: no login prompt in 5 minutes; see $log" >&2; exit 1; }
  i=$(printk "$log" 'Run /init') s=$(printk "$log" 'systemd\[1\]: systemd [0-9]')
  if [ -n "$i" ]; then
    k2init[$name]+="$i "
    fig "$name, round $r: kernel -> /init (guest)" "$i" s
  fi
  if [ -n "$i" ] && [ -n "$s" ]; then
    d=$(python3 -c "print(round($s - $i, 2))")
    init2sd[$name]+="$d "
    fig "$name, round $r: /init -> systemd (guest)" "$d" s
  fi
  if [ -n "$sd" ]; then
    host2sd[$name]+="$sd "
    fig "$name, round $r: power-on -> systemd (host)" "$sd" s
  fi
  host2login[$name]+="$login "
  fig "$name, round $r: power-on -> login prompt (host)" "$login" s
}

# most too goes through the same conversion and rebuild, unchanged.
for name in "${variants[@]}"; do variant "$name"; done
for r in $(seq 1 "$rounds"); do
  for j in "${!variants[@]}"; do boot "${variants[$(((r + j) % ${#variants[@]}))]}" "$r"; done
done
for name in "${variants[@]}"; do
  # shellcheck disable=SC2086 # the lists are words
  {
    [ -z "${k2init[$name]:-}" ] || fig "$name: kernel -> /init (guest, median)" "$(median ${k2init[$name]})" s
    [ -z "${init2sd[$name]:-}" ] || fig "$name: /init -> systemd (guest, median)" "$(median ${init2sd[$name]})" s
    [ -z "${host2sd[$name]:-}" ] || fig "$name: power-on -> systemd (host, median)" "$(median ${host2sd[$name]})" s
    fig "$name: power-on -> login prompt (host, median)" "$(median ${host2login[$name]})" s
  }
done
