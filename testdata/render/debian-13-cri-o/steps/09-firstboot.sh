#!/usr/bin/env bash
# kubebake step 09-firstboot: Install and enable kubebake-firstboot.
# Rendered from recipe debian-13-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"

# Files this step places.
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/systemd/system/kubebake-firstboot.service /etc/systemd/system/kubebake-firstboot.service
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/kubebake/image.json /etc/kubebake/image.json
install -D -m 0755 "$KUBEBAKE_STAGE/inputs/kubebake-firstboot" /usr/local/bin/kubebake-firstboot
install -d -m 0755 /etc/kubebake/node.d /var/lib/kubebake
systemctl enable kubebake-firstboot.service

# The package's default copies of the files above are not in force.
rm -f /etc/systemd/system/kubebake-firstboot.service.dpkg-dist /etc/systemd/system/kubebake-firstboot.service.dpkg-new /etc/systemd/system/kubebake-firstboot.service.rpmnew
rm -f /etc/kubebake/image.json.dpkg-dist /etc/kubebake/image.json.dpkg-new /etc/kubebake/image.json.rpmnew
