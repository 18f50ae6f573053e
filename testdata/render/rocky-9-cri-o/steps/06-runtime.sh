#!/usr/bin/env bash
# kubebake step 06-runtime: Install and configure the cri-o runtime with the systemd cgroup driver.
# Rendered from recipe rocky-9-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"

# Files this step places.
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/crio/crio.conf.d/10-kubebake.conf /etc/crio/crio.conf.d/10-kubebake.conf
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/systemd/network/50-kubebake-veth.link /etc/systemd/network/50-kubebake-veth.link
DNF=(dnf -y -q)

"${DNF[@]}" install cri-o
systemctl enable crio.service

# The package's default copies of the files above are not in force.
rm -f /etc/crio/crio.conf.d/10-kubebake.conf.dpkg-dist /etc/crio/crio.conf.d/10-kubebake.conf.dpkg-new /etc/crio/crio.conf.d/10-kubebake.conf.rpmnew
rm -f /etc/systemd/network/50-kubebake-veth.link.dpkg-dist /etc/systemd/network/50-kubebake-veth.link.dpkg-new /etc/systemd/network/50-kubebake-veth.link.rpmnew
