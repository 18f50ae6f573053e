#!/usr/bin/env bash
# kubebake step 05-repositories: Add the package repositories of Kubernetes and the runtime.
# Rendered from recipe ubuntu-24.04-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"

# Files this step places.
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/apt/sources.list.d/kubernetes.list /etc/apt/sources.list.d/kubernetes.list
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/apt/sources.list.d/cri-o.list /etc/apt/sources.list.d/cri-o.list
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

"${APT[@]}" install --no-install-recommends ca-certificates curl
if [ ! -s /etc/apt/keyrings/kubernetes-apt-keyring.asc ]; then
  install -d -m 0755 /etc/apt/keyrings
  curl -fsSL --retry 5 --retry-delay 2 -o /etc/apt/keyrings/kubernetes-apt-keyring.asc.tmp https://pkgs.k8s.io/core:/stable:/v1.37/deb/Release.key
  mv -f /etc/apt/keyrings/kubernetes-apt-keyring.asc.tmp /etc/apt/keyrings/kubernetes-apt-keyring.asc
fi
if [ ! -s /etc/apt/keyrings/cri-o-apt-keyring.asc ]; then
  install -d -m 0755 /etc/apt/keyrings
  curl -fsSL --retry 5 --retry-delay 2 -o /etc/apt/keyrings/cri-o-apt-keyring.asc.tmp https://download.opensuse.org/repositories/isv:/cri-o:/stable:/v1.37/deb/Release.key
  mv -f /etc/apt/keyrings/cri-o-apt-keyring.asc.tmp /etc/apt/keyrings/cri-o-apt-keyring.asc
fi
"${APT[@]}" update

# The package's default copies of the files above are not in force.
rm -f /etc/apt/sources.list.d/kubernetes.list.dpkg-dist /etc/apt/sources.list.d/kubernetes.list.dpkg-new /etc/apt/sources.list.d/kubernetes.list.rpmnew
rm -f /etc/apt/sources.list.d/cri-o.list.dpkg-dist /etc/apt/sources.list.d/cri-o.list.dpkg-new /etc/apt/sources.list.d/cri-o.list.rpmnew
