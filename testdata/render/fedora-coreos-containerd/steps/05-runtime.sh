#!/usr/bin/env bash
# kubebake step 05-runtime: Install and configure the containerd runtime with the systemd cgroup driver.
# Rendered from recipe fedora-coreos-containerd. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
systemctl enable containerd.service
