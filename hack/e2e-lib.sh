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

# stage TEXT: a heading in the output.
stage() { printf '\n=== %s\n' "$*"; }

# fig NAME VALUE: a figure, printed and kept in $out/figures.txt.
fig() { printf 'FIGURE %-52s %s\n' "$1" "$2" | tee -a "$out/figures.txt"; }

# e2e_start NAME: refuses to run without root, makes $out absolute and
# starts an empty $out/figures.txt.
e2e_start() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "$1: needs root (debootstrap, loop mounts, chroot); run it with sudo" >&2
    exit 1
  fi
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  : >"$out/figures.txt"
}

# e2e_base: sets $base to $BASE or $out/base-debian-13.qcow2, built with
# kubebake base when missing.
e2e_base() {
  base=${BASE:-$out/base-debian-13.qcow2}
  if [ -f "$base" ]; then
    stage "base image: $base (cached; delete it to rebuild)"
  else
    stage "base image: kubebake base debian-13"
    bin/kubebake base debian-13 --dest "$base"
  fi
}

# What hack/e2e-faults.sh does to each case: run, interrupt, judge.

# verdict CASE PROBLEMS: PROBLEMS empty means the case passed; a failed
# case sets the script's exit status, rc, to 1.
verdict() {
  if [ -z "$2" ]; then
    printf 'FAULT PASS %s\n' "$1" | tee -a "$out/figures.txt"
  else
    printf 'FAULT FAIL %s:%s\n' "$1" "$2" | tee -a "$out/figures.txt"
    # shellcheck disable=SC2034 # the sourcing script's exit status
    rc=1
  fi
}

# wait_line FILE REGEX PID SECONDS: waits until FILE has a line matching
# REGEX; fails when PID exits first or SECONDS pass.
wait_line() {
  local end=$((SECONDS + $4))
  until grep -qE -- "$2" "$1" 2>/dev/null; do
    if ! kill -0 "$3" 2>/dev/null; then
      echo "e2e-faults: the process ended before $1 showed /$2/" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$end" ]; then
      echo "e2e-faults: $1 did not show /$2/ within $4s" >&2
      return 1
    fi
    sleep 0.5
  done
}
# wait_exit PID SECONDS: waits for PID (a child of this shell: call it
# from this shell, not in a command substitution) and sets $st to its exit
# status, or to "timeout" after SECONDS, having killed it.
wait_exit() {
  local end=$((SECONDS + $2))
  st=0
  while kill -0 "$1" 2>/dev/null; do
    if [ "$SECONDS" -ge "$end" ]; then
      kill -KILL "$1" 2>/dev/null || true
      wait "$1" 2>/dev/null || true
      st=timeout
      return
    fi
    sleep 0.2
  done
  wait "$1" || st=$?
}
# leftovers DIR: what a run left under DIR: mounts, loop devices, QEMU and
# other processes whose command line names it, and files.
leftovers() {
  local dir=$1 found=
  local m l p f
  m=$(awk -v d="$dir" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo)
  l=$(losetup -a -n -O NAME,BACK-FILE 2>/dev/null | grep -F -- "$dir" || true)
  # Processes naming DIR, but not this script's shell or its subshells
  # (the same command line).
  local pid
  p=
  for pid in $(pgrep -f -- "$dir" || true); do
    if ! cmp -s "/proc/$pid/cmdline" "/proc/$$/cmdline" && [ -e "/proc/$pid" ]; then
      p+="$pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | head -c 200)
"
    fi
  done
  f=$(find "$dir" -mindepth 1 2>/dev/null | head -n 20 || true)
  [ -z "$m" ] || found+=" mounts: $(echo "$m" | tr '\n' ' ')"
  [ -z "$l" ] || found+=" loop devices: $(echo "$l" | tr '\n' ' ')"
  [ -z "$p" ] || found+=" processes: $(echo "$p" | tr '\n' ' ')"
  [ -z "$f" ] || found+=" files: $(echo "$f" | tr '\n' ' ')"
  printf '%s' "$found"
}

# interrupt CASE DIR SIGNAL WANT REGEX WAIT SETTLE QEMU -- COMMAND...: runs
# COMMAND in the background with its output in $out/CASE.log; once the log
# matches REGEX (within WAIT seconds) and SETTLE more seconds have passed
# (QEMU=qemu: with a QEMU process whose command line names DIR), sends
# SIGNAL and wants exit status WANT within two minutes. Sets $problems.
interrupt() {
  local name=$1 dir=$2 sig=$3 want=$4 regex=$5 wait=$6 settle=$7 qemu=$8
  shift 9
  local log="$out/$name.log" pid t
  "$@" >"$log" 2>&1 &
  pid=$!
  problems=
  if wait_line "$log" "$regex" "$pid" "$wait"; then
    sleep "$settle"
    if [ "$qemu" = qemu ] && ! pgrep -f -- "qemu-system.*$dir/" >/dev/null; then
      problems+=" no QEMU process of $name found"
    fi
    echo "e2e-faults: $name: $(grep -E "$regex" "$log" | tail -n 1); SIG$sig to kubebake $pid"
    kill -"$sig" "$pid"
    t=$SECONDS
    wait_exit "$pid" 120
    fig "$name: SIG$sig to exit (s)" "$((SECONDS - t)) (exit $st)"
    [ "$st" = "$want" ] || problems+=" exit status $st, want $want"
    tail -n 3 "$log"
  else
    wait_exit "$pid" 1
    problems+=" the log never showed /$regex/ (exit $st): $(tail -n 2 "$log" | tr '\n' ' ')"
  fi
}

# left_verdict CASE DIR: adds what is left under DIR to $problems and gives
# the verdict.
left_verdict() {
  local left
  left=$(leftovers "$2")
  [ -z "$left" ] || problems+=" left:$left"
  verdict "$1" "$problems"
}
