#!/usr/bin/env bash
# Builds a static crio and pinns (CRI-O) from the Go module proxy only: no
# GitHub, no release tarball. The result is the directory the recipe
# debian-13-cri-o wants for `runtime.source: local` (`kubebake build
# --runtime-dir DIR`).
#
#   hack/cri-o.sh [-v VERSION] [-o OUTDIR]
#
#   VERSION  CRI-O release, default v1.36.2
#   OUTDIR   where crio and pinns go, default _build/cri-o/VERSION/bin
#
# The work is hack/modbuild's (command cri-o, hack/modbuild/crio.go):
#   - _build/cri-o/tools/VERSION is a generated tools module that requires
#     github.com/cri-o/cri-o@VERSION. Its k8s.io requirements that name a
#     release candidate (v1.36.2 wants v0.36.0-rc.0, which the proxy does
#     not serve) are replaced by the release each became (v0.36.0).
#   - crio: CGO_ENABLED=1 go build -trimpath with the tags of CRI-O's static
#     release build (static netgo osusergo exclude_graphdriver_btrfs seccomp
#     apparmor selinux) plus containers_image_openpgp, and the Makefile's
#     ldflags (-s -w, internal/version.buildDate from SOURCE_DATE_EPOCH,
#     default 0, and buildCommit, the commit the proxy names), linked
#     statically. Checked with `crio --version`.
#   - pinns: the module's C sources built as pinns/Makefile does (gcc -std=c99
#     -Os -static, stripped).
#   - A finished build is recorded in OUTDIR/.kubebake-crio; a second run
#     with the same version only checks it.
set -euo pipefail
# shellcheck source=hack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
modbuild cri-o "$@"
