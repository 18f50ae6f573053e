#!/usr/bin/env bash
# Builds static Kubernetes node binaries (kubeadm, kubelet, kubectl, crictl)
# and, on request, the control-plane binaries (kube-apiserver,
# kube-controller-manager, kube-scheduler, kube-proxy) from Go modules only:
# no GitHub, no dl.k8s.io, just the Go module proxy.
#
#   hack/k8s-bin.sh [-v VERSION] [-o OUTDIR] [BINARY...]
#
#   VERSION  Kubernetes release, default v1.36.3
#   OUTDIR   where the binaries go, default _build/k8s/VERSION/bin
#   BINARY   any of kubeadm kubelet kubectl crictl kube-apiserver
#            kube-controller-manager kube-scheduler kube-proxy
#            (default: the four node binaries kubeadm kubelet kubectl crictl)
#
# The work is hack/modbuild's (command k8s-bin, hack/modbuild/k8sbin.go):
#   - _build/k8s/VERSION/src is a generated tools module (never committed).
#     It requires k8s.io/kubernetes@VERSION and carries kubernetes' own
#     `k8s.io/X => ./staging/src/k8s.io/X` replaces rewritten to
#     `k8s.io/X => k8s.io/X v0.MINOR.PATCH`; staging modules the proxy does
#     not have are left out (and named).
#   - crictl comes from sigs.k8s.io/cri-tools v1.MINOR.0 (falls back to
#     $KUBEBAKE_CRI_TOOLS_FALLBACK, default v1.36.0, when the proxy lacks it;
#     $KUBEBAKE_CRI_TOOLS_VERSION forces a version). It has its own tools
#     module, src/cri-tools: cri-tools requires newer grpc, otel, x/net and
#     x/sys than kubernetes pins, and sharing one module would silently
#     upgrade kubeadm's and kubelet's dependencies.
#   - Binaries are built with CGO_ENABLED=0 go build -trimpath and the
#     version ldflags, checked, and renamed into OUTDIR atomically.
#   - Cached: a binary in OUTDIR that already reports the wanted version is
#     kept, so a second run takes seconds.
#
# Versions are always pinned: the proxy refuses version lists for some
# modules, so @latest/@upgrade queries are never made.
set -euo pipefail
# shellcheck source=hack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
modbuild k8s-bin "$@"
