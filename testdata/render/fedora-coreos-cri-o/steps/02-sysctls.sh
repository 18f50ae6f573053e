#!/usr/bin/env bash
# kubebake step 02-sysctls: Set the sysctls Kubernetes needs, now and on every boot.
# Rendered from recipe fedora-coreos-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
# kb_live succeeds when this root is a booted system, not a chroot.
kb_live() {
  [ -d /run/systemd/system ] && ! systemd-detect-virt --quiet --chroot 2>/dev/null
}

if kb_live; then
  sysctl --quiet --load=/etc/sysctl.d/99-kubernetes-cri.conf
fi
