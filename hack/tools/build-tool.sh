#!/usr/bin/env bash
# Builds one Go tool from its tools module under hack/tools/, cached. Used by
# hack/packer.sh and hack/goreleaser.sh; not usually run by hand.
#
#   hack/tools/build-tool.sh NAME MODDIR PKG VERSION [LDFLAGS]
#
#   NAME     binary name, written to $TOOLS_BIN/NAME (default _build/tools/bin)
#   MODDIR   tools module directory (holds the go.mod that pins PKG)
#   PKG      package to build, e.g. github.com/hashicorp/packer
#   VERSION  the version MODDIR/go.mod pins, for the stamp and the summary
#   LDFLAGS  extra -ldflags (e.g. -X main.version=...)
#
# The build is `CGO_ENABLED=0 go build -trimpath` in MODDIR, so the root go.mod
# is never touched. A stamp (_build/tools/stamp/NAME) records the version, the
# Go version, the flags and a hash of MODDIR's go.mod and go.sum: when it
# matches and the binary exists nothing is built. Concurrent runs wait on a
# lock and the binary is replaced atomically. Prints one summary line.
set -euo pipefail

if [ "$#" -lt 4 ] || [ "$#" -gt 5 ]; then
  sed -n '2,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
fi
name=$1 moddir=$2 pkg=$3 version=$4 ldflags=${5:-}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${TOOLS_BIN:-$root/_build/tools/bin}
stampdir=$(dirname "$bin")/stamp
mkdir -p "$bin" "$stampdir"
out=$bin/$name
stamp=$stampdir/$name
rel=${out#"$root"/}

start=$SECONDS

# One build at a time per tool: a second caller waits, then finds the stamp.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$stampdir/$name.lock"
  flock 9
fi

modhash=$(cat "$moddir/go.mod" "$moddir/go.sum" | sha256sum | cut -d' ' -f1)
key="$name $pkg $version $(go env GOVERSION) CGO_ENABLED=0 -trimpath ldflags=[$ldflags] mod=$modhash"

if [ -x "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
  echo "$name $version: cached, $rel ($((SECONDS - start))s)"
  exit 0
fi

tmp=$(mktemp "$bin/.$name.XXXXXX")
trap 'rm -f "$tmp"' EXIT
(
  cd "$moddir"
  CGO_ENABLED=0 GOWORK=off \
    go build -mod=readonly -trimpath -ldflags="$ldflags" -o "$tmp" "$pkg"
)
chmod 0755 "$tmp"
mv -f "$tmp" "$out"
trap - EXIT
printf '%s\n' "$key" >"$stamp"
size=$(du -m "$out" | cut -f1)
echo "$name $version: built $rel (${size} MiB) in $((SECONDS - start))s"
