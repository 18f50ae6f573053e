#!/usr/bin/env bash
# kubebake step 02-kernel-modules: Load the kernel modules Kubernetes needs, now and on every boot.
# Rendered from recipe debian-13-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"

# Files this step places.
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/modules-load.d/kubernetes.conf /etc/modules-load.d/kubernetes.conf
# kb_live succeeds when this root is a booted system, not a chroot.
kb_live() {
  [ -d /run/systemd/system ] && ! systemd-detect-virt --quiet --chroot 2>/dev/null
}

if kb_live; then
  modprobe overlay
  modprobe br_netfilter
fi

# The package's default copies of the files above are not in force.
rm -f /etc/modules-load.d/kubernetes.conf.dpkg-dist /etc/modules-load.d/kubernetes.conf.dpkg-new /etc/modules-load.d/kubernetes.conf.rpmnew
