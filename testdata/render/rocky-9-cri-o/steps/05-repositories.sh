#!/usr/bin/env bash
# kubebake step 05-repositories: Add the package repositories of Kubernetes and the runtime.
# Rendered from recipe rocky-9-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"

# Files this step places.
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/yum.repos.d/kubernetes.repo /etc/yum.repos.d/kubernetes.repo
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/yum.repos.d/cri-o.repo /etc/yum.repos.d/cri-o.repo
DNF=(dnf -y -q)

"${DNF[@]}" install ca-certificates curl 'dnf-command(versionlock)'
"${DNF[@]}" makecache

# The package's default copies of the files above are not in force.
rm -f /etc/yum.repos.d/kubernetes.repo.dpkg-dist /etc/yum.repos.d/kubernetes.repo.dpkg-new /etc/yum.repos.d/kubernetes.repo.rpmnew
rm -f /etc/yum.repos.d/cri-o.repo.dpkg-dist /etc/yum.repos.d/cri-o.repo.dpkg-new /etc/yum.repos.d/cri-o.repo.rpmnew
