#!/usr/bin/env bash
# kubebake step 08-firewall: Firewall: disabled.
# Rendered from recipe debian-13-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
# kb_live succeeds when this root is a booted system, not a chroot.
kb_live() {
  [ -d /run/systemd/system ] && ! systemd-detect-virt --quiet --chroot 2>/dev/null
}

for unit in firewalld.service ufw.service; do
  if systemctl list-unit-files "$unit" >/dev/null 2>&1; then
    systemctl disable "$unit" >/dev/null 2>&1 || true
    if kb_live; then systemctl stop "$unit" || true; fi
  fi
done
