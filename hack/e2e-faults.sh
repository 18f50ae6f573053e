#!/usr/bin/env bash
# make e2e-faults: kubebake under real faults on this machine. Each case
# prints FAULT PASS or FAULT FAIL and its figures; the output is the
# evidence.
#   1. power cuts: a 2-node cluster (the e2e-cluster image, offline, on a
#      private link) where QEMU resets the init node half way through
#      kubeadm init (waiting for the API server) and the worker half way
#      through kubeadm join (waiting for the kubelet's TLS bootstrap), as a
#      power cut would. Both must boot again, reset what the cut left and
#      finish; the cluster must come up Ready;
#   2. a vm-mode bake whose QEMU is killed (SIGKILL) in the middle of a
#      step: the bake fails at once and leaves no image, overlay, key, temp
#      file or QEMU process;
#   3. SIGTERM to a chroot-mode bake while the images step runs (containerd
#      up in the chroot): exit 143, and no mount, loop device, process,
#      temp file or output left;
#   4. SIGINT to kubebake test while its machine boots: exit 130, no QEMU,
#      no temp files;
#   5. SIGTERM to kubebake base while it builds the kernel image in its
#      chroot (update-initramfs):
#      exit 143, no mount, loop device, temp file or output.
# Needs root.
#   OUT    output directory (default out/e2e-faults)
#   BASE   base image (default OUT/base-debian-13.qcow2, built when missing)
#   IMAGE  the cluster image (default: baked here like make e2e-cluster's)
#   CASES  the cases to run (default "power-cut vm-kill chroot-term test-int base-term")
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=hack/e2e-lib.sh
source hack/e2e-lib.sh
out=${OUT:-out/e2e-faults}
k8s=${K8S_VERSION:-v1.36.3}
cases=${CASES:-power-cut vm-kill chroot-term test-int base-term}
e2e_start e2e-faults
rc=0
want_case() { [[ " $cases " == *" $1 "* ]]; }

stage "dependencies, kubebake, Kubernetes $k8s binaries from Go modules"
bash hack/deps.sh
make --no-print-directory build
bash hack/k8s-bin.sh -v "$k8s"
e2e_base
bins=(--kubernetes-binaries-dir "_build/k8s/$k8s/bin" --firstboot-binary bin/kubebake-firstboot)

# The cluster recipe (kubeadm's images imported from archives): the
# power-cut nodes boot its image offline, and its images step (containerd
# running in the chroot) is where the chroot bake is interrupted.
bash hack/k8s-images.sh -v "$k8s"
mkdir -p "$out/image"
recipe="$out/image/debian-13-containerd-cluster.yaml"
cluster_recipe containerd debian-13-containerd-cluster "$k8s" "$root/_build/k8s-images/$k8s" >"$recipe"
image=${IMAGE:-}
if [ -z "$image" ] && { want_case power-cut || want_case test-int; }; then
  stage "the cluster image: debian-13-containerd with kubeadm's images imported from archives"
  bin/kubebake build "$recipe" --base "$base" --dest "$out/image" "${bins[@]}"
  image="$out/image/debian-13-containerd-cluster.qcow2"
fi

if want_case power-cut; then
  stage "1. power cuts: init node mid-init, worker mid-join"
  go build -o bin/e2ecluster ./hack/e2ecluster
  t=$SECONDS
  crc=0
  bin/e2ecluster -image "$image" -work "$out/power-cut" -nodes 2 -power-cut cp1,worker1 | tee "$out/power-cut.txt" || crc=$?
  fig "power-cut: cluster run, start to verdict (s)" "$((SECONDS - t)) (exit $crc)"
  sed -n 's/^\(cp1\|worker1\) (.*power cut \([0-9]*\)s after power-on.*power cut to firstboot result \([0-9]*\)s$/\1 \2 \3/p' "$out/power-cut.txt" |
    while read -r n cut after; do
      fig "power-cut: $n cut after power-on (s)" "$cut"
      fig "power-cut: $n cut to firstboot result (s)" "$after"
    done
  problems=
  [ "$crc" = 0 ] || problems+=" e2ecluster exit $crc (see $out/power-cut)"
  for n in cp1 worker1; do
    grep -q "^$n (.*power cut [0-9]*s after power-on" "$out/power-cut.txt" || problems+=" $n was not cut"
    # The second boot's firstboot saw the cut attempt and reset it.
    grep -aq "a previous attempt did not finish: kubeadm reset" "$out/power-cut/$n/serial.log" || problems+=" $n did not reset the cut attempt"
  done
  verdict power-cut "$problems"
fi

if want_case vm-kill; then
  stage "2. vm-mode bake: QEMU killed (SIGKILL) in the middle of a step"
  dir="$out/vm-kill"
  rm -rf "$dir"
  mkdir -p "$dir"
  log="$out/vm-kill.log"
  bin/kubebake build debian-13-containerd --mode vm --base "$base" --dest "$dir/out" "${bins[@]}" >"$log" 2>&1 &
  pid=$!
  problems=
  if wait_line "$log" 'kubebake: \[2/[0-9]+\] ' "$pid" 1200; then
    sleep 2
    qemu=$(pgrep -f -- "qemu-system.*$dir/" | head -n 1 || true)
    if [ -z "$qemu" ]; then
      problems+=" no QEMU process of the bake found"
      kill -TERM "$pid" 2>/dev/null || true
    else
      echo "e2e-faults: $(grep -E 'kubebake: \[' "$log" | tail -n 1); kill -9 QEMU $qemu"
      kill -KILL "$qemu"
    fi
    t=$SECONDS
    wait_exit "$pid" 300
    fig "vm-kill: QEMU killed to the bake's exit (s)" "$((SECONDS - t)) (exit $st)"
    [ "$st" != 0 ] && [ "$st" != timeout ] || problems+=" the bake's exit status is $st"
    tail -n 3 "$log"
  else
    wait_exit "$pid" 1
    problems+=" the bake did not reach a step (exit $st)"
  fi
  left_verdict vm-kill "$dir"
fi

if want_case chroot-term; then
  stage "3. chroot-mode bake: SIGTERM while the images step runs (containerd up in the chroot)"
  dir="$out/chroot-term"
  rm -rf "$dir" && mkdir -p "$dir"
  interrupt chroot-term "$dir" TERM 143 'kubebake: \[[0-9]+/[0-9]+\] images: ' 900 3 - -- \
    bin/kubebake build "$recipe" --base "$base" --dest "$dir/out" "${bins[@]}"
  left_verdict chroot-term "$dir"
fi

if want_case test-int; then
  stage "4. kubebake test: SIGINT while its machine boots"
  dir="$out/test-int"
  rm -rf "$dir" && mkdir -p "$dir/tmp"
  cp --reflink=auto "$image" "$dir/image.qcow2"
  interrupt test-int "$dir" INT 130 'booting ' 600 15 qemu -- env TMPDIR="$dir/tmp" bin/kubebake test "$dir/image.qcow2"
  rm -f "$dir/image.qcow2"
  rmdir "$dir/tmp" 2>/dev/null || true
  left_verdict test-int "$dir"
fi

if want_case base-term; then
  stage "5. kubebake base: SIGTERM while it builds the kernel image in its chroot (update-initramfs)"
  dir="$out/base-term"
  rm -rf "$dir" && mkdir -p "$dir/work"
  interrupt base-term "$dir" TERM 143 '^base: uki$' 900 2 - -- bin/kubebake base debian-13 --dest "$dir/base.qcow2" --work-dir "$dir/work"
  rmdir "$dir/work" 2>/dev/null || true
  left_verdict base-term "$dir"
fi

echo
cat "$out/figures.txt"
exit "$rc"
