#!/usr/bin/env bash
# make e2e-cluster: a real two-node kubeadm cluster from a baked image,
# offline, on this machine.
#   1. kubeadm's images for the Kubernetes version, built from Go modules
#      (make k8s-images), imported into the image at bake time
#      (images.archives), so no node pulls anything;
#   2. bake debian-13-containerd with them (chroot mode) and check the
#      manifest records each image's digest, pinned; kubebake test;
#   3. boot node 1 (role init) and node 2 (role join) under QEMU on a
#      private link (hack/e2ecluster): token and CA chosen up front, static
#      addresses, bridge CNI over each node's pod range; wait for both
#      kubebake-firstboot results and for node 1's kubectl to see both nodes
#      Ready and every kube-system pod Running;
#   4. with CP_JOIN=1, a control-plane join: init + control-plane. Off by
#      default: under TCG here kubeadm's etcd join fails (a MemberList with a
#      fixed 2s timeout that it does not retry, or kube-apiserver down past
#      the TLS bootstrap wait once the second member joins); firstboot then
#      fails definitively without resetting the etcd member;
#   5. the headline: power-on to kubeadm success of one init node from the
#      baked image against one from the plain base image that installs the
#      same recipe at boot (SKIP_BASELINE=1 leaves it out).
# Prints every figure; the output is the evidence. Needs root.
#   OUT     output directory (default out/e2e-cluster)
#   BASE    base image (default OUT/base-debian-13.qcow2, built when missing)
#   NODES   number of nodes (default 2)
#   RUNTIMES  the runtimes, each its own bake and cluster (default "containerd docker cri-o",
#           the three of the seed tutorials: Debian's containerd; Docker Engine from Debian's
#           docker.io with cri-dockerd built from its Go module; CRI-O's crio and pinns built
#           from its Go module with Debian's conmon, crun and CNI plugins)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=hack/e2e-lib.sh
source hack/e2e-lib.sh
out=${OUT:-out/e2e-cluster}
k8s=${K8S_VERSION:-v1.36.3}
nodes=${NODES:-2}
runtimes=${RUNTIMES:-containerd docker cri-o}
e2e_start e2e-cluster

stage "dependencies, kubebake, Kubernetes $k8s binaries and images from Go modules"
bash hack/deps.sh
make --no-print-directory build
bash hack/k8s-bin.sh -v "$k8s"
t=$SECONDS
bash hack/k8s-images.sh -v "$k8s"
fig "k8s-images (s)" "$((SECONDS - t))"
images="$root/_build/k8s-images/$k8s"

e2e_base

# power_on FILE: "NODE SECONDS" per node, from e2ecluster's output: the
# host's time from starting the node to kubeadm's success (its firstboot
# result less the phases after kubeadm: CNI configuration, hooks).
power_on() { sed -n 's/^\(cp[0-9]*\|worker[0-9]*\) (.*power-on to kubeadm success \([0-9]*\)s.*/\1 \2/p' "$1"; }
go build -o bin/e2ecluster ./hack/e2ecluster
rc=0
for rt in $runtimes; do
  name=debian-13-$rt-cluster
  dir="$out/$rt"
  mkdir -p "$dir"
  stage "bake debian-13-$rt with kubeadm's images imported from archives"
  extra=()
  case $rt in
    docker)
      bash hack/cri-dockerd.sh
      extra=(--cri-dockerd-dir "_build/cri-dockerd/v0.4.3/bin")
      ;;
    cri-o)
      t=$SECONDS
      bash hack/cri-o.sh
      fig "cri-o: hack/cri-o.sh, crio and pinns (s)" "$((SECONDS - t))"
      extra=(--runtime-dir "_build/cri-o/v1.36.2/bin")
      ;;
  esac
  recipe="$dir/$name.yaml"
  cluster_recipe "$rt" "$name" "$k8s" "$images" >"$recipe"
  t=$SECONDS
  bin/kubebake build "$recipe" --base "$base" --dest "$dir/image" \
    --kubernetes-binaries-dir "_build/k8s/$k8s/bin" --firstboot-binary bin/kubebake-firstboot "${extra[@]}"
  fig "$rt: bake with 7 image archives (s)" "$((SECONDS - t))"
  image="$dir/image/$name.qcow2"
  fig "$rt: image size compressed (bytes)" "$(stat -c %s "$image")"

  # Every image of the index is in the manifest under its name: with the
  # manifest digest the archive was written with, pinned (containerd and
  # CRI-O), or with its image ID, the config digest (docker, whose load
  # keeps no repo digest and which cannot pin).
  bad=0
  while IFS=$'\t' read -r ref repo digest id; do
    if [ "$rt" != docker ]; then
      want="true true"
      got=$(jq -r --arg ref "$ref" --arg want "$repo@$digest" \
        '.runtimeImages[] | select(.repoTags | index($ref)) | "\(.repoDigests | index($want) != null) \(.pinned)"' \
        "$dir/image/manifest.json")
    else
      want=$id
      got=$(jq -r --arg ref "$ref" '.runtimeImages[] | select(.repoTags | index($ref)) | .id' "$dir/image/manifest.json")
    fi
    if [ "$got" = "$want" ]; then
      echo "  manifest: $ref ${digest:0:19} ${id:0:19} as built"
    else
      echo "  manifest: $ref: want '$want', got '${got:-absent}'" >&2
      bad=1
    fi
  done < <(jq -r '.images[] | [.ref, .name, .digest, .imageID] | @tsv' "$images/images.json")
  [ "$bad" = 0 ] || { echo "e2e-cluster: $rt: the manifest does not record the imported images as built" >&2; exit 1; }

  t=$SECONDS
  bin/kubebake test "$image" --serial-log "$dir/image/test-serial.log" --report "$dir/image/test.json" | tee "$dir/image/test.txt"
  fig "$rt: kubebake test (s)" "$((SECONDS - t))"

  stage "$rt: a $nodes-node cluster: node 1 kubeadm init, the others join, on a private link"
  t=$SECONDS
  crc=0
  bin/e2ecluster -image "$image" -work "$dir/run" -nodes "$nodes" | tee "$dir/cluster.txt" || crc=$?
  fig "$rt: cluster run, start to verdict (s)" "$((SECONDS - t)) (exit $crc)"
  power_on "$dir/cluster.txt" | while read -r n s; do fig "$rt: cluster: $n power-on to kubeadm success (s)" "$s"; done
  [ "$crc" = 0 ] || rc=1
done
first=${runtimes%% *}
if [ "${CP_JOIN:-0}" = 1 ]; then
  # A second control-plane node: init uploads its certificates under a key
  # chosen up front; the joining node adds an etcd member.
  stage "$first: a control-plane join (init + control-plane) on a private link"
  t=$SECONDS
  crc=0
  bin/e2ecluster -image "$out/$first/image/debian-13-$first-cluster.qcow2" -work "$out/$first/cp-run" \
    -roles init,control-plane | tee "$out/$first/cp-join.txt" || crc=$?
  fig "$first: control-plane join run, start to verdict (s)" "$((SECONDS - t)) (exit $crc)"
  power_on "$out/$first/cp-join.txt" | while read -r n s; do fig "$first: control-plane join: $n power-on to kubeadm success (s)" "$s"; done
  [ "$crc" = 0 ] || rc=1
fi
image="$out/$first/image/debian-13-$first-cluster.qcow2"
recipe="$out/$first/debian-13-$first-cluster.yaml"

if [ "${SKIP_BASELINE:-0}" != 1 ]; then
  # The headline: one init node from the baked image against one from the
  # plain base that installs the same recipe at boot (packages from the
  # Debian mirror, binaries and image archives from a local disk, which
  # favours the baseline), then the same kubebake-firstboot. Both on
  # QEMU's user network, one at a time.
  stage "headline ($first): power-on to kubeadm success, baked vs. installed at boot"
  single_rc=0 base_rc=0
  bin/e2ecluster -image "$image" -work "$out/single" -nodes 1 -user-net | tee "$out/single.txt" || single_rc=$?
  bin/e2ecluster -image "$base" -work "$out/baseline" -nodes 1 -user-net -bundle-recipe "$recipe" \
    -kubernetes-binaries-dir "_build/k8s/$k8s/bin" -firstboot-binary bin/kubebake-firstboot | tee "$out/baseline.txt" || base_rc=$?
  baked=$(power_on "$out/single.txt" | awk '{ print $2 }')
  plain=$(power_on "$out/baseline.txt" | awk '{ print $2 }')
  fig "baked image: power-on to kubeadm success (s)" "${baked:-none} (exit $single_rc)"
  fig "installed at boot: power-on to kubeadm success (s)" "${plain:-none} (exit $base_rc)"
  if [ -n "$baked" ] && [ -n "$plain" ] && [ "$single_rc" = 0 ] && [ "$base_rc" = 0 ]; then
    fig "speed-up, baked vs. installed at boot (x)" "$(awk -v a="$plain" -v b="$baked" 'BEGIN { printf "%.2f", a / b }')"
  fi
  [ "$single_rc" = 0 ] && [ "$base_rc" = 0 ] || rc=1
fi
echo
cat "$out/figures.txt"
exit "$rc"
