#!/usr/bin/env bash
# Builds, cached and pinned, the Packer CLI and the Amazon plugin that the
# Packer plugin tests use, from the tools modules hack/tools/packer and
# hack/tools/packer-plugin-amazon (the root go.mod is not touched):
#
#   hack/packer.sh           # both
#   hack/packer.sh packer    # _build/tools/bin/packer               (v1.16.0)
#   hack/packer.sh amazon    # _build/tools/bin/packer-plugin-amazon (v1.8.2)
#
# A second run builds nothing (stamps in _build/tools/stamp; see
# hack/tools/build-tool.sh). Cold, on 2 cores: packer ~2.5 min, the plugin
# ~2.5 min; ~150 MB and ~130 MB. Set TOOLS_BIN to build elsewhere.
# To bump a version: `go get -tool MODULE@vX` in its tools module, then
# `go mod tidy`; the version is read from that go.mod.
#
# Using them offline, as the tests do:
#   export PACKER_PLUGIN_PATH=$(mktemp -d) PACKER_CONFIG_DIR=$(mktemp -d) CHECKPOINT_DISABLE=1
#   _build/tools/bin/packer plugins install \
#       --path _build/tools/bin/packer-plugin-amazon github.com/hashicorp/amazon
#   _build/tools/bin/packer init . && _build/tools/bin/packer validate .
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=$root/hack/tools
bin=${TOOLS_BIN:-$root/_build/tools/bin}

# pinned MODDIR MODULE: the version MODDIR/go.mod requires MODULE at.
pinned() {
  local v
  v=$(awk -v m="$2" '$1 == m { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1/go.mod")
  if [ -z "$v" ]; then
    echo "packer.sh: $2 is not required in $1/go.mod" >&2
    exit 1
  fi
  echo "$v"
}

build_packer() {
  local v
  v=$(pinned "$tools/packer" github.com/hashicorp/packer)
  "$tools/build-tool.sh" packer "$tools/packer" github.com/hashicorp/packer "$v"
  # packer embeds its version (version/VERSION): check the binary agrees.
  if ! CHECKPOINT_DISABLE=1 "$bin/packer" version | grep -qx "Packer $v"; then
    echo "packer.sh: $bin/packer does not report Packer $v" >&2
    exit 1
  fi
}

build_amazon() {
  local v
  v=$(pinned "$tools/packer-plugin-amazon" github.com/hashicorp/packer-plugin-amazon)
  "$tools/build-tool.sh" packer-plugin-amazon "$tools/packer-plugin-amazon" \
    github.com/hashicorp/packer-plugin-amazon "$v"
  # `packer plugins install --path` names the plugin after what `describe` says.
  if ! "$bin/packer-plugin-amazon" describe | grep -q "\"version\":\"${v#v}\""; then
    echo "packer.sh: $bin/packer-plugin-amazon describe does not report ${v#v}" >&2
    exit 1
  fi
}

[ "$#" -gt 0 ] || set -- packer amazon
for target in "$@"; do
  case $target in
  packer) build_packer ;;
  amazon) build_amazon ;;
  *)
    sed -n '2,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
    ;;
  esac
done
