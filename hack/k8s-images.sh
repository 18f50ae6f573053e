#!/usr/bin/env bash
# Builds the control-plane images kubeadm pulls for a Kubernetes version
# (kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, etcd,
# coredns, pause) from Go modules only, offline, cached, as image archives a
# kubebake recipe imports with `images.archives`.
#
#   hack/k8s-images.sh [-v VERSION] [-o OUTDIR]
#
#   VERSION  Kubernetes release, default v1.36.3
#   OUTDIR   where the archives go, default _build/k8s-images/VERSION
#
# Output: OUTDIR/NAME.tar per image (docker-save format that also carries an
# OCI image layout, so `docker load` and `ctr -n k8s.io images import` both
# take it, and containerd keeps the manifest digest), and OUTDIR/images.json
# (name, tag, file, manifest digest, size per image).
#
# The work is hack/modbuild's (command k8s-images, hack/modbuild/images.go):
#   - Names and tags are what `kubeadm config images list
#     --kubernetes-version VERSION` prints, with kubeadm as hack/k8s-bin.sh
#     builds it.
#   - kube-*: built as hack/k8s-bin.sh builds them, from
#     k8s.io/kubernetes@VERSION (its tools module and cache, _build/k8s/VERSION).
#   - etcd, etcdctl: go.etcd.io/etcd/{server,etcdctl}/v3 at the etcd tag's
#     version (3.6.8-0 -> v3.6.8; $KUBEBAKE_ETCD_VERSION forces one), tools
#     module _build/k8s-images/tools/etcd-VERSION.
#   - coredns: github.com/coredns/coredns at the coredns tag
#     ($KUBEBAKE_COREDNS_VERSION forces one), tools module
#     _build/k8s-images/tools/coredns-VERSION.
#   - pause: hack/k8simages/pause, our own static Go pause, from this module.
#   - kube-proxy's iptables (nft backend) and the libraries it loads: the
#     build machine's Debian packages (apt-get download, dpkg-deb -x).
#   - Binaries: CGO_ENABLED=0 go build -trimpath, version ldflags as upstream
#     sets them, checked with --version, cached under _build/k8s-images/bin.
#   - Images: hack/k8simages (go-containerregistry), deterministic, rebuilt
#     only when a binary changed.
#
# Versions are always pinned: @latest/@upgrade queries are never made.
set -euo pipefail
# shellcheck source=hack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
modbuild k8s-images "$@"
