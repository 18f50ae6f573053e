#!/usr/bin/env bash
# kubebake step 06-runtime: Install and configure the docker runtime with the systemd cgroup driver.
# Rendered from recipe ubuntu-24.04-docker. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"

# Files this step places.
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/docker/daemon.json /etc/docker/daemon.json
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/systemd/system/cri-docker.service /etc/systemd/system/cri-docker.service
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/systemd/system/cri-docker.socket /etc/systemd/system/cri-docker.socket
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/systemd/network/50-kubebake-veth.link /etc/systemd/network/50-kubebake-veth.link
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

"${APT[@]}" install --no-install-recommends docker.io

# kb_fetch URL DEST [SHA256]: download to DEST atomically; with SHA256, the
# file must match it, else it must match the URL.sha256 published beside it.
# SHA256 "unverified" skips the check (the recipe was warned about it).
kb_fetch() {
  local url=$1 dest=$2 want=${3:-} tmp
  tmp=$(mktemp "$dest.XXXXXX")
  curl -fsSL --retry 5 --retry-delay 2 -o "$tmp" "$url"
  if [ "$want" = unverified ]; then
    echo "kubebake: warning: $url is not verified: no sha256 is pinned for it" >&2
    mv -f "$tmp" "$dest"
    return 0
  fi
  if [ -z "$want" ]; then
    want=$(curl -fsSL --retry 5 --retry-delay 2 "$url.sha256" | cut -d' ' -f1)
  fi
  if ! echo "$want  $tmp" | sha256sum --check --status; then
    echo "kubebake: sha256 of $url is $(sha256sum "$tmp" | cut -d' ' -f1), want $want" >&2
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$dest"
}

if [ ! -x /usr/bin/cri-dockerd ] || ! /usr/bin/cri-dockerd --version 2>&1 | grep -qF 0.4.3; then
  tmp=$(mktemp -d)
  kb_fetch https://github.com/Mirantis/cri-dockerd/releases/download/v0.4.3/cri-dockerd-0.4.3.amd64.tgz "$tmp/cri-dockerd.tgz" unverified
  tar -xzf "$tmp/cri-dockerd.tgz" -C "$tmp"
  install -m 0755 "$tmp/cri-dockerd/cri-dockerd" /usr/bin/cri-dockerd
  rm -rf "$tmp"
fi
systemctl enable containerd.service docker.service cri-docker.socket cri-docker.service

# The package's default copies of the files above are not in force.
rm -f /etc/docker/daemon.json.dpkg-dist /etc/docker/daemon.json.dpkg-new /etc/docker/daemon.json.rpmnew
rm -f /etc/systemd/system/cri-docker.service.dpkg-dist /etc/systemd/system/cri-docker.service.dpkg-new /etc/systemd/system/cri-docker.service.rpmnew
rm -f /etc/systemd/system/cri-docker.socket.dpkg-dist /etc/systemd/system/cri-docker.socket.dpkg-new /etc/systemd/system/cri-docker.socket.rpmnew
rm -f /etc/systemd/network/50-kubebake-veth.link.dpkg-dist /etc/systemd/network/50-kubebake-veth.link.dpkg-new /etc/systemd/network/50-kubebake-veth.link.rpmnew
