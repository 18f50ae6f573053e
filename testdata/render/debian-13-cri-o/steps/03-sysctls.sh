#!/usr/bin/env bash
# kubebake step 03-sysctls: Set the sysctls Kubernetes needs, now and on every boot.
# Rendered from recipe debian-13-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"

# Files this step places.
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/sysctl.d/99-kubernetes-cri.conf /etc/sysctl.d/99-kubernetes-cri.conf
# kb_live succeeds when this root is a booted system, not a chroot.
kb_live() {
  [ -d /run/systemd/system ] && ! systemd-detect-virt --quiet --chroot 2>/dev/null
}

if kb_live; then
  sysctl --quiet --load=/etc/sysctl.d/99-kubernetes-cri.conf
fi

# The package's default copies of the files above are not in force.
rm -f /etc/sysctl.d/99-kubernetes-cri.conf.dpkg-dist /etc/sysctl.d/99-kubernetes-cri.conf.dpkg-new /etc/sysctl.d/99-kubernetes-cri.conf.rpmnew
