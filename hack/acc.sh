#!/usr/bin/env bash
# make acc: the Packer plugin's acceptance tests with a real packer v1.16.0,
# including the full build: examples/qcow2.pkr.hcl with the kubebake-qemu
# builder and the kubebake provisioner, from a Debian 13 base image made
# here with `kubebake base`, tested by `kubebake test`. Needs root (base,
# test); installs QEMU etc. with apt when missing. Prints the figures.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${OUT:-out/acc}
mkdir -p "$out"
if [ "$(id -u)" != 0 ]; then
  echo "acc.sh: needs root (kubebake base and kubebake test)" >&2
  exit 1
fi
bash hack/deps.sh
bash hack/k8s-bin.sh -v v1.36.3
bash hack/packer.sh
make build acc-plugin >/dev/null
base="$out/base-debian-13.qcow2"
if [ ! -f "$base" ]; then
  bin/kubebake base debian-13 --dest "$base"
fi
PACKER_ACC=1 KUBEBAKE_ACC_QEMU=1 KUBEBAKE_PLUGIN_BIN="$root/_build/acc/packer-plugin-kubebake" \
  KUBEBAKE_ACC_BASE="$root/$base" KUBEBAKE_ACC_K8S_BIN="$root/_build/k8s/v1.36.3/bin" \
  KUBEBAKE_BIN="$root/bin/kubebake" KUBEBAKE_ACC_OUT="$root/$out/qcow2" \
  go test ./acc/ -count=1 -v -timeout 90m 2>&1 | tee "$out/acc.log" | grep -E '^(=== RUN|--- |PASS|FAIL|ok)|FIGURE|kubebake-qemu.node: (kubebake: \[|Wrote|The guest)' 
test "${PIPESTATUS[0]}" = 0
