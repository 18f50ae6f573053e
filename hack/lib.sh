# shellcheck shell=bash
# What hack/k8s-bin.sh, hack/k8s-images.sh and hack/cri-dockerd.sh share:
# each is a front end of hack/modbuild, the Go tool that parses their
# command lines (one parser, -v -o -h) and does their work.

# modbuild COMMAND ARGS...: builds hack/modbuild into _build/tools/bin (go
# build's cache makes that well under a second once built) and replaces the
# shell with `modbuild COMMAND ARGS...`.
modbuild() {
  local root bin
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  bin="$root/_build/tools/bin/modbuild"
  if ! command -v go >/dev/null 2>&1; then
    echo "$1: error: go is not on PATH" >&2
    exit 1
  fi
  export GOWORK=off
  if ! (cd "$root" && CGO_ENABLED=0 go build -o "$bin" ./hack/modbuild); then
    echo "$1: error: go build ./hack/modbuild failed" >&2
    exit 1
  fi
  exec "$bin" -root "$root" "$@"
}
