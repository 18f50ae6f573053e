#!/usr/bin/env bash
# make e2e-rollout: a node pool replaced under load, offline, on this
# machine (hack/e2erollout, one QEMU process per node on a private link):
#   1. image A: debian-13-containerd with kubeadm's images and a small
#      workload image (hack/k8simages/rolloutapp) imported from archives;
#      image B: a recipe that starts `from: ./pool-a.yaml` and adds one
#      package and one sysctl; the skew image: Kubernetes $SKEW_VERSION
#      binaries built from Go modules, newer than A's control plane;
#   2. a control plane and a worker from A; a Deployment of 4 replicas with
#      a readiness probe and a PodDisruptionBudget (minAvailable 3) on the
#      worker; a worker from B with the same user data, Ready and labelled
#      with B's plan; the old worker drained, powered off gracefully (QMP
#      system_powerdown) and its Node deleted; the workload's Ready pods
#      watched throughout; every replica must end on B's worker, no worker
#      keep A's label, and availability never fall below the budget;
#   3. a worker from the skew image with the same user data must fail at
#      once, with reason version-skew;
#   4. the baseline: the same replacement from the plain base image,
#      installing B's recipe at boot (packages from the Debian mirror
#      through a second, NAT network card), power-on to Node Ready against
#      the baked replacement's (SKIP_BASELINE=1 leaves it out).
# Prints every figure; the output is the evidence. Needs root.
#   OUT   output directory (default out/e2e-rollout)
#   BASE  base image (default OUT/base-debian-13.qcow2, built when missing)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=hack/e2e-lib.sh
source hack/e2e-lib.sh
out=${OUT:-out/e2e-rollout}
k8s=${K8S_VERSION:-v1.36.3}
skew=${SKEW_VERSION:-v1.37.2}
e2e_start e2e-rollout

stage "dependencies, kubebake, Kubernetes $k8s and $skew binaries, kubeadm's images and the workload's, from Go modules"
bash hack/deps.sh
make --no-print-directory build
bash hack/k8s-bin.sh -v "$k8s"
bash hack/k8s-bin.sh -v "$skew"
bash hack/k8s-images.sh -v "$k8s"
images="$root/_build/k8s-images/$k8s"
app="$root/_build/rollout-app"
mkdir -p "$app"
CGO_ENABLED=0 go build -trimpath -o "$app/rollout-app" ./hack/k8simages/rolloutapp
CGO_ENABLED=0 go build -trimpath -o "$app/k8simages" ./hack/k8simages
"$app/k8simages" -out "$app" -bin rollout-app="$app/rollout-app" kubebake.test/rollout-app:v1
e2e_base
bins=(--kubernetes-binaries-dir "_build/k8s/$k8s/bin" --firstboot-binary bin/kubebake-firstboot)

stage "image A, image B (from: A), and the skew image"
mkdir -p "$out/a" "$out/b" "$out/skew"
{
  cluster_recipe containerd pool-a "$k8s" "$images"
  echo "    - $app/rollout-app.tar"
} >"$out/pool-a.yaml"
cat >"$out/pool-b.yaml" <<RECIPE
apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: pool-b
  description: image A and one package and one sysctl more
from: ./pool-a.yaml
node:
  packages: [jq]
  sysctls:
    vm.max_map_count: "262144"
RECIPE
cat >"$out/pool-skew.yaml" <<RECIPE
apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: pool-skew
  description: a kubelet newer than the control plane ($skew against $k8s)
from: debian-13-containerd
kubernetes:
  version: $skew
RECIPE
for img in a b; do
  t=$SECONDS
  bin/kubebake build "$out/pool-$img.yaml" --base "$base" --dest "$out/$img" "${bins[@]}"
  fig "bake image ${img^^} (s)" "$((SECONDS - t))"
  fig "image ${img^^} size compressed (bytes)" "$(stat -c %s "$out/$img/pool-$img.qcow2")"
  fig "image ${img^^} plan" "$(jq -r .planDigest "$out/$img/manifest.json")"
done
t=$SECONDS
bin/kubebake build "$out/pool-skew.yaml" --base "$base" --dest "$out/skew" \
  --kubernetes-binaries-dir "_build/k8s/$skew/bin" --firstboot-binary bin/kubebake-firstboot
fig "bake the skew image (s)" "$((SECONDS - t))"

stage "the rollout: control plane and worker from A, the replacement from B, the skew worker, the baseline"
go build -o bin/e2erollout ./hack/e2erollout
baseline=()
if [ "${SKIP_BASELINE:-0}" != 1 ]; then
  baseline=(-base "$base" -bundle-recipe "$out/pool-b.yaml" "${bins[@]}")
fi
t=$SECONDS
rc=0
bin/e2erollout -image-a "$out/a/pool-a.qcow2" -image-b "$out/b/pool-b.qcow2" -skew-image "$out/skew/pool-skew.qcow2" \
  -work "$out/run" "${baseline[@]}" | tee "$out/rollout.txt" || rc=$?
fig "rollout run, start to verdict (s)" "$((SECONDS - t)) (exit $rc)"
grep '^FIGURE ' "$out/rollout.txt" >>"$out/figures.txt" || true
echo
cat "$out/figures.txt"
exit "$rc"
