#!/usr/bin/env bash
# Builds goreleaser, cached and pinned, into _build/tools/bin/goreleaser from
# the tools module hack/tools/goreleaser (the root go.mod is not touched):
#
#   hack/goreleaser.sh       # _build/tools/bin/goreleaser (v2.16.0)
#
# A second run builds nothing (stamp in _build/tools/stamp; see
# hack/tools/build-tool.sh). Cold, on 2 cores: ~2-4 min; ~115 MiB. Set
# TOOLS_BIN to build elsewhere. v2.16.0 is the newest release the module proxy here can
# build (see hack/tools/goreleaser/go.mod). To bump: `go get -tool
# github.com/goreleaser/goreleaser/v2@vX` there, then `go mod tidy -e` (plain
# tidy fails: a test of nfpm imports go-msix, which the proxy refuses).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mod=$root/hack/tools/goreleaser
bin=${TOOLS_BIN:-$root/_build/tools/bin}

if [ "$#" -gt 0 ]; then
  sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
fi

v=$(awk '$1 == "github.com/goreleaser/goreleaser/v2" { print $2; exit }' "$mod/go.mod")
if [ -z "$v" ]; then
  echo "goreleaser.sh: goreleaser is not required in $mod/go.mod" >&2
  exit 1
fi

"$root/hack/tools/build-tool.sh" goreleaser "$mod" github.com/goreleaser/goreleaser/v2 "$v"

# No -X main.version needed: goreleaser reads its module version from the
# binary's build info ("GitVersion: v2.16.0").
if ! "$bin/goreleaser" --version 2>/dev/null | grep -q "^GitVersion: *$v\$"; then
  echo "goreleaser.sh: $bin/goreleaser does not report GitVersion $v" >&2
  exit 1
fi
