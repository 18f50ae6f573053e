#!/usr/bin/env bash
# kubebake step 07-selinux: Set SELinux to enforcing.
# Rendered from recipe fedora-coreos-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
# kb_live succeeds when this root is a booted system, not a chroot.
kb_live() {
  [ -d /run/systemd/system ] && ! systemd-detect-virt --quiet --chroot 2>/dev/null
}

sed -i -E 's/^SELINUX=.*/SELINUX=enforcing/' /etc/selinux/config
if kb_live && command -v setenforce >/dev/null && selinuxenabled; then
  setenforce 1
fi
