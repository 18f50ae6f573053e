# shellcheck shell=bash
# Sourced by hack/e2e-cluster.sh and hack/e2e-faults.sh: what both do the
# same way.

# cluster_recipe RUNTIME NAME K8S IMAGES: the recipe of debian-13-RUNTIME
# with kubeadm's images for K8S imported from the archives that
# hack/k8s-images.sh wrote to IMAGES, so that no node pulls anything.
cluster_recipe() {
  local rt=$1 name=$2 k8s=$3 images=$4
  cat <<RECIPE
apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: $name
  description: debian-13-$rt with kubeadm's images for $k8s imported from archives (make k8s-images)
from: debian-13-$rt
images:
  preload: true
  archives:
RECIPE
  jq -r '.images[].file | "    - " + .' "$images/images.json"
}
