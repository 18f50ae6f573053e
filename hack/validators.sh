#!/usr/bin/env bash
# Installs the real consumers that recipes/render/consumers_test.go runs the
# rendered files through, on a Debian bookworm machine (root, or sudo-less
# apt-get):
#
#   - shellcheck, systemd-analyze (systemd), cloud-init, isoinfo
#     (genisoimage) and strace (fault injection in the write-path tests) from
#     the system's apt sources;
#   - skopeo, which runs CRI-O's image archive import as rendered;
#   - dnf with dnf-plugins-core (config-manager --dump reads the rendered
#     .repo files), rpm (rpmbuild, rpmsign, rpmkeys) and createrepo_c, for
#     the dnf consumer test and hack/srcrepo's rpm repository: bookworm's
#     dnf 4.14, since trixie's 4.23 would upgrade libc6, python3 and systemd;
#   - dockerd (26.x, which has --validate) and containerd (1.7.x), taken from
#     Debian trixie's docker.io and containerd packages and extracted into
#     _build/validators/bin/. The system's apt sources are not changed: apt
#     reads a private sources.list, lists and cache under _build/validators/.
#
# Idempotent: whatever is already in place is skipped, so a second run costs
# a few milliseconds. Set KUBEBAKE_VALIDATORS_SUITE to fetch from another
# Debian suite than trixie.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
base="$root/_build/validators"
bin="$base/bin"
suite="${KUBEBAKE_VALIDATORS_SUITE:-trixie}"
mirror="${KUBEBAKE_VALIDATORS_MIRROR:-http://deb.debian.org/debian}"

log() { echo "validators: $*" >&2; }

# shellcheck source=hack/apt.sh
. "$root/hack/apt.sh"

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  else
    sudo "$@"
  fi
}

# system_apt_update: apt_update for the system's own sources, as root.
system_apt_update() {
  if [ "$(id -u)" -eq 0 ]; then
    # shellcheck disable=SC2119 # no options: the system's own sources
    apt_update
  else
    sudo bash -c ". '$root/hack/apt.sh' && apt_update"
  fi
}

# 1. shellcheck, systemd-analyze, cloud-init, isoinfo, strace, gpg, dnf,
# rpm, createrepo_c and skopeo from the system's own sources.
missing=()
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v cloud-init >/dev/null 2>&1 || missing+=(cloud-init)
command -v isoinfo >/dev/null 2>&1 || missing+=(genisoimage)
command -v strace >/dev/null 2>&1 || missing+=(strace)
command -v gpg >/dev/null 2>&1 || missing+=(gpg)
command -v dnf >/dev/null 2>&1 || missing+=(dnf)
dpkg-query -W -f='${Status}' dnf-plugins-core 2>/dev/null | grep -q 'ok installed' || missing+=(dnf-plugins-core)
command -v rpmbuild >/dev/null 2>&1 || missing+=(rpm)
command -v createrepo_c >/dev/null 2>&1 || missing+=(createrepo-c)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  system_apt_update
  sudo_if_needed apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# 2. dockerd and containerd from the other suite, extracted, never installed.
# dockerd --validate needs docker-proxy on PATH too (userland-proxy is on by
# default, and dockerd rejects a configuration whose proxy it cannot find).
have_dockerd() {
  [ -x "$bin/dockerd" ] && [ -x "$bin/docker-proxy" ] && "$bin/dockerd" --help 2>&1 | grep -q -- '--validate'
}
have_containerd() { [ -x "$bin/containerd" ] && "$bin/containerd" --version >/dev/null 2>&1; }

if ! have_dockerd || ! have_containerd; then
  apt_dir="$base/apt"
  debs="$base/debs"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$debs" "$bin"
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  if [ ! -s "$keyring" ]; then
    log "installing debian-archive-keyring"
    system_apt_update
    sudo_if_needed apt-get install -y -q debian-archive-keyring
  fi
  # Only the Packages index: a machine with apt-file (or appstream) installed
  # would otherwise also fetch the 12 MB Contents files through its
  # apt.conf.d, and fail when a syncing mirror serves them at a wrong size.
  echo "deb [signed-by=$keyring target=Packages] $mirror $suite main" >"$apt_dir/sources.list"
  apt_opts=(
    -o "Dir::Etc::sourcelist=$apt_dir/sources.list"
    -o "Dir::Etc::sourceparts=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
    -o "Dir::State::status=/var/lib/dpkg/status"
    -o "APT::Sandbox::User=root"
  )
  log "fetching $suite's package lists"
  apt_update "${apt_opts[@]}" >/dev/null
  rm -f "$debs"/*.deb
  log "downloading $suite's docker.io and containerd"
  (cd "$debs" && apt-get "${apt_opts[@]}" -q download docker.io containerd >/dev/null)
  x=$(mktemp -d)
  trap 'rm -rf "$x"' EXIT
  for deb in "$debs"/docker.io_*.deb "$debs"/containerd_*.deb; do
    dpkg-deb -x "$deb" "$x"
  done
  for name in dockerd docker-proxy containerd; do
    found=""
    for dir in usr/sbin usr/bin usr/libexec/docker sbin bin; do
      if [ -x "$x/$dir/$name" ]; then
        found="$x/$dir/$name"
        break
      fi
    done
    if [ -z "$found" ]; then
      log "no $name in $suite's packages"
      exit 1
    fi
    install -m 0755 "$found" "$bin/$name.tmp"
    mv -f "$bin/$name.tmp" "$bin/$name"
  done
  rm -rf "$x" "$debs"
  trap - EXIT
  if ! have_dockerd; then
    log "$bin/dockerd has no --validate"
    exit 1
  fi
  if ! have_containerd; then
    log "$bin/containerd does not run here"
    exit 1
  fi
fi

echo "shellcheck:      $(shellcheck --version | sed -n 's/^version: //p')"
echo "systemd-analyze: $(systemd-analyze --version | head -n1)"
echo "cloud-init:      $(cloud-init --version 2>&1)"
echo "isoinfo:         $(isoinfo -version 2>&1 | head -n1)"
echo "dnf:             $(dnf --version 2>/dev/null | head -n1)"
echo "rpm:             $(rpm --version)"
echo "createrepo_c:    $(createrepo_c --version | head -n1)"
echo "skopeo:          $(skopeo --version)"
echo "dockerd:         $("$bin/dockerd" --version) ($bin/dockerd)"
echo "containerd:      $("$bin/containerd" --version) ($bin/containerd)"
