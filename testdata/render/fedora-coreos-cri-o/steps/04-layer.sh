#!/usr/bin/env bash
# kubebake step 04-layer: Layer the runtime and Kubernetes packages with rpm-ostree.
# Rendered from recipe fedora-coreos-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
# Layer packages onto the booted deployment and apply them live, so the bake
# goes on without a reboot. Packages the base image already has are fine.
rpm-ostree install --idempotent --allow-inactive --apply-live -y cri-o kubelet-1.37.1 kubeadm-1.37.1 kubectl-1.37.1 cri-tools
