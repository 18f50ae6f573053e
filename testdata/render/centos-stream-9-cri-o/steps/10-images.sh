#!/usr/bin/env bash
# kubebake step 10-images: Pre-load 7 images into cri-o.
# Rendered from recipe centos-stream-9-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
# kb_live succeeds when this root is a booted system, not a chroot.
kb_live() {
  [ -d /run/systemd/system ] && ! systemd-detect-virt --quiet --chroot 2>/dev/null
}


# kb_runtime_up makes sure the runtime answers on its socket: restarted by
# systemd on a booted system, started as plain processes in a chroot (and
# stopped again when the script exits).
KB_PIDS=()
kb_runtime_down() {
  local pid
  for pid in "${KB_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${KB_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
kb_runtime_up() {
  if kb_live; then
    systemctl restart crio.service
  else
    mkdir -p "$KUBEBAKE_STAGE/logs"
    trap kb_runtime_down EXIT
    crio >>"$KUBEBAKE_STAGE/logs/crio.log" 2>&1 &
    KB_PIDS+=("$!")
  fi
  kb_wait_socket /var/run/crio/crio.sock
}
kb_wait_socket() {
  for _ in $(seq 1 120); do
    [ -S "$1" ] && return 0
    sleep 0.5
  done
  echo "kubebake: $1 did not appear within 60s" >&2
  local log
  for log in "$KUBEBAKE_STAGE"/logs/*.log; do
    [ -f "$log" ] || continue
    echo "--- last lines of ${log##*/} ---" >&2
    tail -n 15 "$log" | cut -c1-300 >&2
  done
  return 1
}

kb_runtime_up
export CONTAINER_RUNTIME_ENDPOINT=unix:///var/run/crio/crio.sock IMAGE_SERVICE_ENDPOINT=unix:///var/run/crio/crio.sock
# kb_image NAME DIGEST PIN: pull NAME unless present, check its digest, pin it.
kb_image() {
  local name=$1 digest=$2 pin=$3
  if ! crictl inspecti "$name" >/dev/null 2>&1; then
    crictl pull "$name"
  fi
  if [ -n "$digest" ] && ! crictl inspecti -o json "$name" | grep -qF "@$digest\""; then
    echo "kubebake: $name does not have digest $digest" >&2
    return 1
  fi
  if [ "$pin" = yes ]; then
    : # CRI-O pins it through pinned_images in its config.
  fi
}
kb_image registry.k8s.io/kube-apiserver:v1.37.1 '' yes
kb_image registry.k8s.io/kube-controller-manager:v1.37.1 '' yes
kb_image registry.k8s.io/kube-scheduler:v1.37.1 '' yes
kb_image registry.k8s.io/kube-proxy:v1.37.1 '' yes
kb_image registry.k8s.io/coredns/coredns:v1.14.6 '' yes
kb_image registry.k8s.io/pause:3.10.2 '' yes
kb_image registry.k8s.io/etcd:3.7.0-0 '' yes
# Record the runtime's store (IDs, tags, digests, pins) for the manifest and
# for whoever inspects the image later.
mkdir -p /etc/kubebake
crictl images -o json >/etc/kubebake/images.json.tmp
mv -f /etc/kubebake/images.json.tmp /etc/kubebake/images.json
