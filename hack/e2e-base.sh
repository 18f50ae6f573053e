#!/usr/bin/env bash
# Builds real base images with kubebake's internal/base and boots them under
# QEMU (TCG, OVMF), checking that cloud-init finishes from a NoCloud seed
# (TestBootE2E in internal/base/e2e_test.go). Needs root, for debootstrap and
# chroot; installs qemu-system-x86, qemu-utils, ovmf, debootstrap and
# e2fsprogs when missing.
#
#   sudo hack/e2e-base.sh                      # debian-13
#   sudo hack/e2e-base.sh debian-13 debian-12  # both
#
# Images, serial logs and e2e.json summaries go to _build/e2e/DISTRO/;
# package tarballs are cached in _build/cache/base, so a second run downloads
# nothing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "e2e-base: needs root (debootstrap, chroot); run it with sudo" >&2
  exit 1
fi

missing=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
command -v qemu-img >/dev/null 2>&1 || missing+=(qemu-utils)
[ -e /usr/share/OVMF/OVMF_CODE_4M.fd ] || [ -e /usr/share/OVMF/OVMF_CODE.fd ] || missing+=(ovmf)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v mkfs.ext4 >/dev/null 2>&1 || missing+=(e2fsprogs)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "e2e-base: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck source=hack/apt.sh
  . "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
  # shellcheck disable=SC2119 # no options: the system's own sources
  apt_update
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

distros="${*:-debian-13}"
out="$root/_build/e2e"
mkdir -p "$out"
cd "$root"
KUBEBAKE_E2E=1 KUBEBAKE_E2E_DISTROS="$distros" KUBEBAKE_E2E_OUT="$out" \
  go test ./internal/base -run '^TestBootE2E$' -count=1 -v -timeout 60m
