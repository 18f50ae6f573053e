#!/usr/bin/env bash
# kubebake step 08-selinux: Set SELinux to permissive.
# Rendered from recipe centos-stream-9-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
# kb_live succeeds when this root is a booted system, not a chroot.
kb_live() {
  [ -d /run/systemd/system ] && ! systemd-detect-virt --quiet --chroot 2>/dev/null
}

sed -i -E 's/^SELINUX=.*/SELINUX=permissive/' /etc/selinux/config
if kb_live && command -v setenforce >/dev/null && selinuxenabled; then
  setenforce 0
fi
