#!/usr/bin/env bash
# kubebake step 01-prepare: Install the tools kubeadm and the steps need.
# Rendered from recipe debian-13-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

"${APT[@]}" update
"${APT[@]}" install --no-install-recommends ca-certificates curl conntrack socat ethtool iproute2 iptables kmod util-linux
