#!/usr/bin/env bash
# Installs, with apt, what baking and booting images needs when missing:
# qemu-system-x86, qemu-utils, ovmf, debootstrap, e2fsprogs, dosfstools,
# mtools, shellcheck, zerofree, jq, gpg, and for hack/cri-o.sh gcc with the
# static libseccomp, libapparmor and libselinux that crio links. Idempotent;
# quiet when everything is there.
set -euo pipefail
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need qemu-system-x86_64 qemu-system-x86
need qemu-img qemu-utils
need debootstrap debootstrap
need mkfs.ext4 e2fsprogs
need debugfs e2fsprogs
need mkfs.vfat dosfstools
need mcopy mtools
need shellcheck shellcheck
need zerofree zerofree
need jq jq
need gpg gpg
need cc gcc
need strip binutils
# needlib LIB PACKAGE: a static library crio links (hack/cri-o.sh).
needlib() { [ -e "/usr/lib/$(uname -m)-linux-gnu/$1" ] || missing+=("$2"); }
needlib libseccomp.a libseccomp-dev
needlib libapparmor.a libapparmor-dev
needlib libselinux.a libselinux1-dev
needlib libc.a libc6-dev
[ -e /usr/share/OVMF/OVMF_CODE_4M.fd ] || [ -e /usr/share/OVMF/OVMF_CODE.fd ] || missing+=(ovmf)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck source=hack/apt.sh
  . "$(dirname "${BASH_SOURCE[0]}")/apt.sh"
  # shellcheck disable=SC2119 # no options: the system's own sources
  apt_update
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
