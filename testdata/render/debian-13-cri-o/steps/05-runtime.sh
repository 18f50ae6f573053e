#!/usr/bin/env bash
# kubebake step 05-runtime: Install and configure the cri-o runtime with the systemd cgroup driver.
# Rendered from recipe debian-13-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"

# Files this step places.
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/crio/crio.conf.d/10-kubebake.conf /etc/crio/crio.conf.d/10-kubebake.conf
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/systemd/system/crio.service /etc/systemd/system/crio.service
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/systemd/network/50-kubebake-veth.link /etc/systemd/network/50-kubebake-veth.link
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# kb_live succeeds when this root is a booted system, not a chroot.
kb_live() {
  [ -d /run/systemd/system ] && ! systemd-detect-virt --quiet --chroot 2>/dev/null
}

# kb_installed PACKAGE...: every package is installed.
kb_installed() {
  local status
  status=$(dpkg-query -W -f="\${db:Status-Abbrev}\n" "$@" 2>/dev/null) || return 1
  ! grep -qv '^ii' <<<"$status"
}

# In a chroot the prepare step installed them.
if kb_live || ! kb_installed conmon crun golang-github-containers-common; then
  "${APT[@]}" install --no-install-recommends conmon crun golang-github-containers-common
fi
# The runtime's binaries from runtime.local.dir.
install -m 0755 "$KUBEBAKE_STAGE/inputs/"crio /usr/bin/crio
install -m 0755 "$KUBEBAKE_STAGE/inputs/"pinns /usr/bin/pinns
# The local crio must be the CRI-O minor the recipe names.
ver=$(/usr/bin/crio --version 2>&1 | head -n 1)
case "$ver" in
  "crio version "1.36.*) ;;
  *)
    echo "kubebake: runtime.local.dir's crio says '$ver'; runtime.version wants CRI-O "1.36 >&2
    exit 1
    ;;
esac
systemctl enable crio.service

# The package's default copies of the files above are not in force.
rm -f /etc/crio/crio.conf.d/10-kubebake.conf.dpkg-dist /etc/crio/crio.conf.d/10-kubebake.conf.dpkg-new /etc/crio/crio.conf.d/10-kubebake.conf.rpmnew
rm -f /etc/systemd/system/crio.service.dpkg-dist /etc/systemd/system/crio.service.dpkg-new /etc/systemd/system/crio.service.rpmnew
rm -f /etc/systemd/network/50-kubebake-veth.link.dpkg-dist /etc/systemd/network/50-kubebake-veth.link.dpkg-new /etc/systemd/network/50-kubebake-veth.link.rpmnew
