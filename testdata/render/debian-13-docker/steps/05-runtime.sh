#!/usr/bin/env bash
# kubebake step 05-runtime: Install and configure the docker runtime with the systemd cgroup driver.
# Rendered from recipe debian-13-docker. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"

# Files this step places.
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/docker/daemon.json /etc/docker/daemon.json
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/systemd/system/cri-docker.service /etc/systemd/system/cri-docker.service
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/systemd/system/cri-docker.socket /etc/systemd/system/cri-docker.socket
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
if kb_live || ! kb_installed docker.io docker-cli; then
  "${APT[@]}" install --no-install-recommends docker.io docker-cli
fi
install -m 0755 "$KUBEBAKE_STAGE/inputs/cri-dockerd" /usr/bin/cri-dockerd
systemctl enable containerd.service docker.service cri-docker.socket cri-docker.service

# The package's default copies of the files above are not in force.
rm -f /etc/docker/daemon.json.dpkg-dist /etc/docker/daemon.json.dpkg-new /etc/docker/daemon.json.rpmnew
rm -f /etc/systemd/system/cri-docker.service.dpkg-dist /etc/systemd/system/cri-docker.service.dpkg-new /etc/systemd/system/cri-docker.service.rpmnew
rm -f /etc/systemd/system/cri-docker.socket.dpkg-dist /etc/systemd/system/cri-docker.socket.dpkg-new /etc/systemd/system/cri-docker.socket.rpmnew
rm -f /etc/systemd/network/50-kubebake-veth.link.dpkg-dist /etc/systemd/network/50-kubebake-veth.link.dpkg-new /etc/systemd/network/50-kubebake-veth.link.rpmnew
