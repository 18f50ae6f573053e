#!/usr/bin/env bash
# The main job: bake the default image, debian-13-containerd, on a fresh
# Debian machine from nothing but Debian packages and Go modules.
#   1. apt: QEMU, OVMF, debootstrap, e2fsprogs, ... (hack/deps.sh)
#   2. kubebake and kubebake-firstboot (make build)
#   3. kubeadm, kubelet, kubectl, crictl v1.36.3 from Go modules (hack/k8s-bin.sh, cached)
#   4. a Debian 13 base image (kubebake base, cached in OUT)
#   5. the node image (kubebake build, chroot mode)
# Needs root (debootstrap, loop mounts, chroot). OUT defaults to out/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${OUT:-out}
k8s=${K8S_VERSION:-v1.36.3}
mode=${MODE:-chroot}
if [ "$(id -u)" -ne 0 ]; then
  echo "image: needs root (debootstrap, loop mounts, chroot); run it with sudo" >&2
  exit 1
fi
stage() { printf '\n=== %s\n' "$*"; }
t0=$SECONDS
stage "dependencies"
bash hack/deps.sh
stage "kubebake"
make --no-print-directory build
stage "Kubernetes $k8s binaries from Go modules"
bash hack/k8s-bin.sh -v "$k8s"
mkdir -p "$out"
base=${BASE:-$out/base-debian-13.qcow2}
if [ -f "$base" ]; then
  stage "base image: $base (cached; delete it to rebuild)"
else
  stage "base image: kubebake base debian-13"
  t=$SECONDS
  bin/kubebake base debian-13 --dest "$base"
  echo "base built in $((SECONDS - t))s"
fi
stage "node image: kubebake build debian-13-containerd --mode $mode"
t=$SECONDS
# Progress goes to stderr; the result (-o json) to stdout.
result=$(bin/kubebake build debian-13-containerd --mode "$mode" --base "$base" --dest "$out" \
  --kubernetes-binaries-dir "_build/k8s/$k8s/bin" --firstboot-binary bin/kubebake-firstboot -o json)
echo "node image baked in $((SECONDS - t))s (all stages $((SECONDS - t0))s)"
echo
jq -r '"image:    \(.image) (\(.size) bytes, sha256 \(.sha256))", "manifest: \(.manifest)"' <<<"$result"
