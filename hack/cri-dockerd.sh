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
# The work is hack/modbuild's (command cri-dockerd, hack/modbuild/cridockerd.go):
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
# shellcheck source=hack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
modbuild cri-dockerd "$@"
