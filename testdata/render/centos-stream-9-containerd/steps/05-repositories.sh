#!/usr/bin/env bash
# kubebake step 05-repositories: Add the package repositories of Kubernetes and the runtime.
# Rendered from recipe centos-stream-9-containerd. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"

# Files this step places.
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/yum.repos.d/kubernetes.repo /etc/yum.repos.d/kubernetes.repo
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/yum.repos.d/docker-ce.repo /etc/yum.repos.d/docker-ce.repo
DNF=(dnf -y -q)

"${DNF[@]}" install ca-certificates curl 'dnf-command(versionlock)'
"${DNF[@]}" makecache

# The package's default copies of the files above are not in force.
rm -f /etc/yum.repos.d/kubernetes.repo.dpkg-dist /etc/yum.repos.d/kubernetes.repo.dpkg-new /etc/yum.repos.d/kubernetes.repo.rpmnew
rm -f /etc/yum.repos.d/docker-ce.repo.dpkg-dist /etc/yum.repos.d/docker-ce.repo.dpkg-new /etc/yum.repos.d/docker-ce.repo.rpmnew
