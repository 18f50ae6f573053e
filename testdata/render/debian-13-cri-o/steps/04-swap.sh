#!/usr/bin/env bash
# kubebake step 04-swap: Turn swap off, now and for good.
# Rendered from recipe debian-13-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
# kb_live succeeds when this root is a booted system, not a chroot.
kb_live() {
  [ -d /run/systemd/system ] && ! systemd-detect-virt --quiet --chroot 2>/dev/null
}

if kb_live; then
  swapoff -a
fi
# Comment out swap entries in fstab, once.
if [ -f /etc/fstab ]; then
  sed -i -E 's@^([^#[:space:]][^[:space:]]*[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]].*)$@# kubebake: swap off # \1@' /etc/fstab
fi
# No swap unit may come back: neither from fstab, nor a generator, nor zram.
systemctl mask swap.target
