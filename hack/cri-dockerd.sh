#!/usr/bin/env bash
# Builds a static cri-dockerd (Mirantis' CRI shim for Docker Engine) from the
# Go module proxy only: no GitHub, no release tarball. The result is the
# directory the recipe debian-13-docker wants for `runtime.criDockerd.source:
# local` (`kubebake build --cri-dockerd-dir DIR`).
#
#   hack/cri-dockerd.sh [-v VERSION] [-o OUTDIR]
#
#   VERSION  cri-dockerd release, default v0.4.3
#   OUTDIR   where the binary goes, default _build/cri-dockerd/VERSION/bin
#
# How:
#   - _build/cri-dockerd/tools/VERSION is a generated tools module (never
#     committed) that requires github.com/Mirantis/cri-dockerd@VERSION. The
#     replace directives of cri-dockerd's own go.mod (k8s.io/* pinned to
#     v0.29.x, cri-api, otlptrace) are copied into it: Go ignores the
#     replaces of a dependency, and without them the build list differs from
#     upstream's.
#   - The proxy refuses cri-dockerd's version list, so `go install ...@VERSION`
#     and @latest fail; the version is always pinned (`go get X@VERSION`).
#   - CGO_ENABLED=0 go build -trimpath with the ldflags of cri-dockerd's
#     Makefile (packaging/static): -s -w -buildid=REVISION and
#     cmd/version.{Version,PreRelease,GitCommit}, where REVISION is the short
#     commit the proxy names for the tag. No timestamp goes into the binary
#     (a BuildTime variable, should a version have one, gets
#     SOURCE_DATE_EPOCH, default 0), so builds are reproducible.
#   - The binary is checked with `cri-dockerd --version` and renamed into
#     OUTDIR; a binary there that already reports VERSION is kept, so a
#     second run takes well under a second.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module=github.com/Mirantis/cri-dockerd
version=v0.4.3
outdir=

log() { echo "cri-dockerd: $*" >&2; }
die() {
  echo "cri-dockerd: error: $*" >&2
  exit 1
}

usage() {
  cat <<EOF
usage: hack/cri-dockerd.sh [-v VERSION] [-o OUTDIR]

Builds a static cri-dockerd from its Go module (module proxy only) for
runtime.criDockerd.source: local (kubebake build --cri-dockerd-dir OUTDIR).

  -v VERSION  cri-dockerd version (default v0.4.3)
  -o OUTDIR   output directory (default _build/cri-dockerd/VERSION/bin under the repository)
  -h          this help

Environment:
  SOURCE_DATE_EPOCH  build time stamped into the binary, if the version has a
                     BuildTime variable (default 0; v0.4.x has none)
EOF
}

while getopts ':v:o:h' opt; do
  case "$opt" in
    v) version=$OPTARG ;;
    o) outdir=$OPTARG ;;
    h)
      usage
      exit 0
      ;;
    :) die "option -$OPTARG needs a value (see -h)" ;;
    *) die "unknown option -$OPTARG (see -h)" ;;
  esac
done
shift $((OPTIND - 1))
[ "$#" -eq 0 ] || die "unexpected arguments: $* (see -h)"

[[ "$version" == v* ]] || version="v$version"
[[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] ||
  die "VERSION must look like v0.4.3 (got '$version')"

# What cri-dockerd's Makefile stamps: VERSION is the tag without its "v",
# PRERELEASE is "pre" for dev versions; --version prints
# "cri-dockerd VERSION[-PRERELEASE] (REVISION)".
stamp_version=${version#v}
prerelease=
[[ "$stamp_version" != *dev* ]] || prerelease=pre
want=$stamp_version${prerelease:+-$prerelease}

command -v go >/dev/null 2>&1 || die "go is not on PATH"
export GOWORK=off

base="$root/_build/cri-dockerd"
tools="$base/tools/$version"
logs="$base/$version/logs"
[ -n "$outdir" ] || outdir="$base/$version/bin"
mkdir -p "$outdir" "$tools"
outdir=$(cd "$outdir" && pwd)
out="$outdir/cri-dockerd"

# One run at a time per VERSION: runs share the tools module and OUTDIR.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$base/.lock-$version"
  if ! flock -n 9; then
    log "waiting for another cri-dockerd run on $version to finish"
    flock 9
  fi
fi

KB_LOG_DIR=$logs
# shellcheck source=hack/lib.sh
. "$root/hack/lib.sh"
mib() { awk -v s="$(stat -c %s "$1")" 'BEGIN { printf "%.1f MiB", s / 1048576 }'; }

# version_line PATH: the first line of `PATH --version` ("" if it cannot say).
version_line() {
  local line
  line=$(timeout 60 "$1" --version 2>/dev/null | head -n 1) || return 0
  printf '%s\n' "$line"
}

# reported PATH: the version PATH reports, "0.4.3" of "cri-dockerd 0.4.3 (d969e29)".
reported() { version_line "$1" | sed -n 's/^cri-dockerd \([^ ]*\).*/\1/p'; }

tmp=
cleanup() { if [ -n "$tmp" ]; then rm -f "$tmp"; fi; }
trap cleanup EXIT

# -------------------------------------------------------------------- cache

if [ -x "$out" ]; then
  t0=$(now)
  have=$(reported "$out")
  if [ "$have" = "$want" ]; then
    echo "$(version_line "$out"), $(mib "$out"), cached (version check $(elapsed "$t0" 2)s): $out"
    exit 0
  fi
  log "$out reports '${have:-nothing}', want $want: rebuilding"
fi

# ------------------------------------------------------------- tools module

ready="$tools/.kubebake-ready"
t0=$(now)
src_dir='' commit=''
if [ -f "$ready" ] && [ "$(sed -n 1p "$ready")" = "$version" ] && [ -f "$tools/go.sum" ]; then
  commit=$(sed -n 2p "$ready")
  src_dir=$(sed -n 3p "$ready")
fi
if [ -z "$src_dir" ] || [ ! -f "$src_dir/go.mod" ]; then
  log "setting up tools module $tools for $module@$version"
  rm -f "$tools/go.mod" "$tools/go.sum" "$ready"
  (cd "$tools" && quietly go-mod-init go mod init kubebake.local/cri-dockerd-tools) ||
    die "go mod init failed in $tools"

  line=$(cd "$tools" && download "$module@$version")
  case "$line" in
    ok*) ;;
    err*) die "module $module@$version is not available from $(go env GOPROXY): $(cut -f3- <<<"$line")" ;;
    *) die "go mod download $module@$version gave no answer (GOPROXY=$(go env GOPROXY))" ;;
  esac
  src_dir=$(cut -f3 <<<"$line")
  commit=$(cut -f4 <<<"$line")
  [ -f "$src_dir/go.mod" ] || die "$module@$version: no go.mod in $src_dir"

  # cri-dockerd's replaces, copied: a dependency's replaces are ignored.
  edits=()
  while IFS= read -r r; do
    old=$(awk '{ print $1 "@" $2 }' <<<"${r%%=>*}")
    new=$(awk '{ print $1 "@" $2 }' <<<"${r#*=>}")
    case "$new" in
      ./* | ../* | /*) die "$module@$version replaces ${old%@} with the local path ${new%@}, which a tools module cannot reproduce" ;;
    esac
    edits+=("-replace=${old%@}=${new%@}")
  done < <(go_mod_replaces "$src_dir/go.mod")
  if [ "${#edits[@]}" -gt 0 ]; then
    (cd "$tools" && quietly go-mod-edit go mod edit "${edits[@]}") || die "go mod edit failed in $tools"
  fi
  log "copied ${#edits[@]} replace directives from $module@$version's go.mod"

  log "go get $module@$version"
  (cd "$tools" && quietly go-get go get "$module@$version") ||
    die "go get $module@$version failed in $tools"
  printf '%s\n%s\n%s\n' "$version" "$commit" "$src_dir" >"$ready"
  log "tools module ready in $(elapsed "$t0")s"
fi

# ------------------------------------------------------------------- build

# The variables the Makefile sets must exist, or -X silently does nothing.
vpkg="$module/cmd/version"
for v in Version PreRelease GitCommit; do
  grep -qsE "^[[:space:]]*(var[[:space:]]+)?${v}[[:space:]]*=" "$src_dir"/cmd/version/*.go ||
    die "$module@$version has no cmd/version.$v variable to stamp (looked in $src_dir/cmd/version)"
done

# Makefile: REVISION=$(git log -1 --pretty='%h'), the short commit.
revision=${commit:0:7}
if [ -z "$revision" ]; then
  revision=$version
  log "the proxy names no commit for $module@$version: stamping GitCommit=$revision"
fi
ldflags="-s -w -buildid=$revision -X $vpkg.Version=$stamp_version -X $vpkg.PreRelease=$prerelease -X $vpkg.GitCommit=$revision"
if grep -qsE "^[[:space:]]*(var[[:space:]]+)?BuildTime[[:space:]]*=" "$src_dir"/cmd/version/*.go; then
  build_time=$(date -u -d "@${SOURCE_DATE_EPOCH:-0}" +%Y%m%d.%H%M%S) ||
    die "SOURCE_DATE_EPOCH='${SOURCE_DATE_EPOCH:-}' is not a number of seconds"
  ldflags+=" -X $vpkg.BuildTime=$build_time"
fi

log "building cri-dockerd ($module@$version, commit $revision)"
t0=$(now)
tmp=$(mktemp "$outdir/.cri-dockerd.XXXXXX")
if ! (cd "$tools" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp" "$module" >&2); then
  die "go build of $module@$version failed (tools module $tools); see the output above"
fi
have=$(reported "$tmp")
line=$(version_line "$tmp")
[ "$have" = "$want" ] ||
  die "cri-dockerd was built but reports '${line:-nothing}' instead of $want (version ldflags not applied?)"
[ "$line" = "cri-dockerd $want ($revision)" ] ||
  log "note: --version says '$line', expected 'cri-dockerd $want ($revision)'"
chmod 0755 "$tmp"
mv -f "$tmp" "$out"
tmp=
echo "$line, $(mib "$out"), built in $(elapsed "$t0")s: $out"
