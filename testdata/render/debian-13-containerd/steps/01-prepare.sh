#!/usr/bin/env bash
# kubebake step 01-prepare: Install the tools kubeadm and the steps need.
# Rendered from recipe debian-13-containerd. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

"${APT[@]}" update

# kb_live succeeds when this root is a booted system, not a chroot.
kb_live() {
  [ -d /run/systemd/system ] && ! systemd-detect-virt --quiet --chroot 2>/dev/null
}

# Where no service can start (a chroot), the runtime's and the CNI plugins'
# packages come in this transaction too: one transaction instead of three.
# On a booted machine their own steps install them, after placing their
# configuration, so that the services start with it.
early=()
if ! kb_live; then
  early=(containerd containernetworking-plugins)
fi
"${APT[@]}" install --no-install-recommends ca-certificates curl conntrack socat ethtool iproute2 iptables kmod util-linux "${early[@]}"
