#!/usr/bin/env bash
# kubebake step 09-firstboot: Install and enable kubebake-firstboot.
# Rendered from recipe fedora-coreos-containerd. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
install -D -m 0755 "$KUBEBAKE_STAGE/inputs/kubebake-firstboot" /usr/local/bin/kubebake-firstboot
install -d -m 0755 /etc/kubebake/node.d /var/lib/kubebake
systemctl enable kubebake-firstboot.service
