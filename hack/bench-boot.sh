#!/usr/bin/env bash
# make bench-boot: where a node's boot spends its seconds, measured under
# QEMU on this machine (issue #15, part 1):
#   1. as make e2e-cluster prepares: kubeadm's images for the Kubernetes
#      version built from Go modules, the plain base image, and
#      debian-13-containerd baked with the images imported (chroot mode);
#   2. ROUNDS rounds (hack/benchboot), the order rotated each round, of:
#      a 2-node cluster from the baked image (the join starts once the init
#      node's kubebake-firstboot has reported, so it joins a control plane
#      that is up, and before it the plain base boots there too, beside
#      the settled control plane, so that the join is compared with a boot
#      under the same load); the plain base booted alone with no
#      NodeConfig, to multi-user.target and cloud-init's end; and the
#      baseline, an init node from the plain base installing the same
#      recipe at boot (packages from the Debian mirror through a second,
#      NAT network card), with BASELINE_JOIN=1 a join that installs too;
#   3. every node runs a timeline script that prints, on its second serial
#      port, systemd's timestamps, systemd-analyze (time, critical-chain,
#      blame), kubebake-firstboot's journal with monotonic timestamps
#      (kubeadm's output among it) and when kubectl saw its Node Ready; the
#      host timestamps each console as it arrives (firmware, the kernel's
#      first line, the kernel's start estimated from printk's times);
#   4. prints a table per kind (init, join, base, base-loaded,
#      baseline-init, baseline-join): each segment's clock (host: from QEMU's start; guest:
#      the node's monotonic clock from its kernel's start), its median start
#      and end, and the median, minimum, maximum and spread of its length
#      over the rounds; then the ratios issue #15 sets goals for. Writes
#      OUT/result.json (rewritten after every run) and OUT/table.txt.
# Needs root. Exits 1 when a run failed (the figures leave it out). A boot
# whose guest kernel panicked (TCG's text patching races in an SMP guest's
# early boot; seen once in about twenty boots here) is run again, once;
# the panicked runs stay in the result, marked "retried".
#   OUT            output directory (default out/bench-boot)
#   BASE           base image (default OUT/base-debian-13.qcow2, built when missing)
#   ROUNDS         rounds (default 3)
#   SKIP_BASELINE  1 leaves the baseline out
#   BASELINE_JOIN  1 gives the baseline a join too (about 15 minutes more a
#                  round); by default the baseline is an init node alone
#   COMPARE_REF    a git commit: the same recipe is also baked by kubebake
#                  (and kubebake-firstboot) as of that commit, on the same
#                  base, and its cluster booted in every round; the table
#                  then shows each segment before (that commit) and after
#                  (this tree), and the ratios after over before
#   COMPARE        an image to compare with instead (already baked)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=hack/e2e-lib.sh
source hack/e2e-lib.sh
out=${OUT:-out/bench-boot}
k8s=${K8S_VERSION:-v1.36.3}
rounds=${ROUNDS:-3}
e2e_start bench-boot

stage "dependencies, kubebake, Kubernetes $k8s binaries and images from Go modules"
bash hack/deps.sh
make --no-print-directory build
bash hack/k8s-bin.sh -v "$k8s"
bash hack/k8s-images.sh -v "$k8s"
images="$root/_build/k8s-images/$k8s"

e2e_base

stage "bake debian-13-containerd with kubeadm's images imported from archives"
name=debian-13-containerd-bench
recipe="$out/$name.yaml"
cluster_recipe containerd "$name" "$k8s" "$images" >"$recipe"
bins=(--kubernetes-binaries-dir "_build/k8s/$k8s/bin" --firstboot-binary bin/kubebake-firstboot)
t=$SECONDS
bin/kubebake build "$recipe" --base "$base" --dest "$out/image" "${bins[@]}"
fig "bake (s)" "$((SECONDS - t))"
image="$out/image/$name.qcow2"

compare=${COMPARE:-}
if [ -n "${COMPARE_REF:-}" ]; then
  ref=$(git rev-parse --short "$COMPARE_REF^{commit}")
  stage "bake the same recipe with kubebake as of $ref, to compare with"
  tree="$root/_build/bench-boot-compare/$ref"
  if [ ! -x "$tree/bin/kubebake" ] || [ ! -x "$tree/bin/kubebake-firstboot" ]; then
    rm -rf "$tree" && mkdir -p "$tree"
    git archive "$ref" | tar -x -C "$tree"
    make --no-print-directory -C "$tree" build VERSION="$ref"
  fi
  t=$SECONDS
  "$tree/bin/kubebake" build "$recipe" --base "$base" --dest "$out/compare" \
    --kubernetes-binaries-dir "_build/k8s/$k8s/bin" --firstboot-binary "$tree/bin/kubebake-firstboot"
  fig "bake as of $ref (s)" "$((SECONDS - t))"
  compare="$out/compare/$name.qcow2"
fi

stage "the timelines: $rounds round(s)"
go build -o bin/benchboot ./hack/benchboot
args=(-image "$image" -base "$base" -rounds "$rounds" -work "$out/run" -result "$out/result.json")
if [ -n "$compare" ]; then
  args+=(-compare "$compare")
fi
if [ "${BASELINE_JOIN:-0}" = 1 ]; then
  args+=(-baseline-join)
fi
if [ "${SKIP_BASELINE:-0}" = 1 ]; then
  args+=(-skip-baseline)
else
  args+=(-bundle-recipe "$recipe" "${bins[@]}")
fi
# Each run's directory is made afresh; none of an earlier run is left to
# be mistaken for this one's.
rm -rf "$out/run"
rc=0
bin/benchboot "${args[@]}" || rc=$?
exit "$rc"
