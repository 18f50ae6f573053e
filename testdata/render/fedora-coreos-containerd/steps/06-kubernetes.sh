#!/usr/bin/env bash
# kubebake step 06-kubernetes: Install kubelet, kubeadm, kubectl and crictl v1.37.1.
# Rendered from recipe fedora-coreos-containerd. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
# kubelet, kubeadm, kubectl and cri-tools are layered by the layer step.
systemctl enable kubelet.service
