#!/usr/bin/env bash
# kubebake step 01-prepare: Install the tools kubeadm and the steps need.
# Rendered from recipe centos-stream-9-containerd. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
DNF=(dnf -y -q)

"${DNF[@]}" install ca-certificates curl conntrack-tools socat ethtool iproute iptables-nft kmod util-linux tar
