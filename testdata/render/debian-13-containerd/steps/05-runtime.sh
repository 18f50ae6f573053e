#!/usr/bin/env bash
# kubebake step 05-runtime: Install and configure the containerd runtime with the systemd cgroup driver.
# Rendered from recipe debian-13-containerd. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"

# Files this step places.
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/containerd/config.toml /etc/containerd/config.toml
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
if kb_live || ! kb_installed containerd; then
  "${APT[@]}" install --no-install-recommends containerd
fi
systemctl enable containerd.service

# The package's default copies of the files above are not in force.
rm -f /etc/containerd/config.toml.dpkg-dist /etc/containerd/config.toml.dpkg-new /etc/containerd/config.toml.rpmnew
rm -f /etc/systemd/network/50-kubebake-veth.link.dpkg-dist /etc/systemd/network/50-kubebake-veth.link.dpkg-new /etc/systemd/network/50-kubebake-veth.link.rpmnew
