#!/usr/bin/env bash
# kubebake step 05-runtime: Install and configure the cri-o runtime with the systemd cgroup driver.
# Rendered from recipe fedora-coreos-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
systemctl enable crio.service
