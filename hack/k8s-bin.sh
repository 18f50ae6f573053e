#!/usr/bin/env bash
# Builds static Kubernetes node binaries (kubeadm, kubelet, kubectl, crictl)
# and, on request, the control-plane binaries (kube-apiserver,
# kube-controller-manager, kube-scheduler, kube-proxy) from Go modules only:
# no GitHub, no dl.k8s.io, just the Go module proxy.
#
#   hack/k8s-bin.sh [-v VERSION] [-o OUTDIR] [BINARY...]
#
#   VERSION  Kubernetes release, default v1.36.3
#   OUTDIR   where the binaries go, default _build/k8s/VERSION/bin
#   BINARY   any of kubeadm kubelet kubectl crictl kube-apiserver
#            kube-controller-manager kube-scheduler kube-proxy
#            (default: the four node binaries kubeadm kubelet kubectl crictl)
#
# How:
#   - _build/k8s/VERSION/src is a generated tools module (never committed).
#     It requires k8s.io/kubernetes@VERSION and carries kubernetes' own
#     `k8s.io/X => ./staging/src/k8s.io/X` replaces rewritten to
#     `k8s.io/X => k8s.io/X v0.MINOR.PATCH`; staging modules the proxy does
#     not have are left out (and named).
#   - crictl comes from sigs.k8s.io/cri-tools v1.MINOR.0 (falls back to
#     $KUBEBAKE_CRI_TOOLS_FALLBACK, default v1.36.0, when the proxy lacks it;
#     $KUBEBAKE_CRI_TOOLS_VERSION forces a version). It has its own tools
#     module, src/cri-tools: cri-tools requires newer grpc, otel, x/net and
#     x/sys than kubernetes pins, and sharing one module would silently
#     upgrade kubeadm's and kubelet's dependencies.
#   - Binaries are built with CGO_ENABLED=0 go build -trimpath and the
#     version ldflags, checked, and renamed into OUTDIR atomically.
#   - Cached: a binary in OUTDIR that already reports the wanted version is
#     kept, so a second run takes seconds.
#
# Versions are always pinned: the proxy refuses version lists for some
# modules, so @latest/@upgrade queries are never made.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
node_bins=(kubeadm kubelet kubectl crictl)
control_plane_bins=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy)
all_bins=("${node_bins[@]}" "${control_plane_bins[@]}")
version=v1.36.3
outdir=
cri_fallback="${KUBEBAKE_CRI_TOOLS_FALLBACK:-v1.36.0}"

log() { echo "k8s-bin: $*" >&2; }
die() {
  echo "k8s-bin: error: $*" >&2
  exit 1
}

usage() {
  cat <<EOF
usage: hack/k8s-bin.sh [-v VERSION] [-o OUTDIR] [BINARY...]

Builds static Kubernetes binaries from Go modules (module proxy only).

  -v VERSION  Kubernetes version (default v1.36.3)
  -o OUTDIR   output directory (default _build/k8s/VERSION/bin under the repository)
  -h          this help
  BINARY      any of: ${all_bins[*]}
              (default: ${node_bins[*]})

Environment:
  KUBEBAKE_CRI_TOOLS_VERSION   cri-tools version for crictl (default v1.MINOR.0)
  KUBEBAKE_CRI_TOOLS_FALLBACK  used when v1.MINOR.0 is not on the proxy (default v1.36.0)
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

# VERSION: v1.MINOR.PATCH with an optional pre-release (v1.37.0-rc.1).
[[ "$version" == v* ]] || version="v$version"
if [[ ! "$version" =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+)(-[0-9A-Za-z.]+)?$ ]]; then
  die "VERSION must look like v1.36.3 (got '$version')"
fi
major=${BASH_REMATCH[1]}
minor=${BASH_REMATCH[2]}
patch=${BASH_REMATCH[3]}
prerelease=${BASH_REMATCH[4]}
[ "$major" = 1 ] || die "only Kubernetes 1.x is supported (got $version)"
staging_version="v0.${minor}.${patch}${prerelease}"
# kube::version::ldflags appends "+" to the minor of a pre-release.
git_minor=$minor
[ -z "$prerelease" ] || git_minor="${minor}+"

# Binaries: the arguments, de-duplicated, in the canonical order.
want=()
if [ "$#" -eq 0 ]; then
  want=("${node_bins[@]}")
else
  for arg in "$@"; do
    case "$arg" in
      kubeadm | kubelet | kubectl | crictl) ;;
      kube-apiserver | kube-controller-manager | kube-scheduler | kube-proxy) ;;
      *) die "unknown binary '$arg' (choose from: ${all_bins[*]})" ;;
    esac
  done
  for b in "${all_bins[@]}"; do
    for arg in "$@"; do
      if [ "$arg" = "$b" ]; then
        want+=("$b")
        break
      fi
    done
  done
fi

command -v go >/dev/null 2>&1 || die "go is not on PATH"
export GOWORK=off

base="$root/_build/k8s/$version"
src="$base/src"
cri_src="$src/cri-tools"
[ -n "$outdir" ] || outdir="$base/bin"
mkdir -p "$outdir" "$src"
outdir=$(cd "$outdir" && pwd)

# One run at a time per VERSION: they share the tools modules.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$base/.lock"
  if ! flock -n 9; then
    log "waiting for another k8s-bin run on $version to finish"
    flock 9
  fi
fi

KB_LOG_DIR="$base/logs"
# shellcheck source=hack/lib.sh
. "$root/hack/lib.sh"

goproxy=$(go env GOPROXY)

# ---------------------------------------------------------------- versions

# expected NAME: the version NAME must report.
expected() {
  case "$1" in
    crictl) echo "$cri_version" ;;
    *) echo "$version" ;;
  esac
}

# reported NAME PATH: the version the binary reports ("" if it cannot say).
reported() {
  local out
  case "$1" in
    kubeadm) out=$(timeout 60 "$2" version -o short 2>/dev/null) || return 0 ;;
    kubelet | kube-*) out=$(timeout 60 "$2" --version 2>/dev/null | sed -n 's/^Kubernetes //p') || return 0 ;;
    kubectl) out=$(timeout 60 "$2" version --client 2>/dev/null | sed -n 's/^Client Version: //p') || return 0 ;;
    crictl) out=$(timeout 60 "$2" --version 2>/dev/null | sed -n 's/^crictl version //p') || return 0 ;;
  esac
  printf '%s\n' "$out" | head -n 1
}

# cri-tools version: forced, else v1.MINOR.0; a fallback chosen by an earlier
# run (recorded in src/cri-tools/.kubebake-ready) is accepted by the cache.
cri_forced="${KUBEBAKE_CRI_TOOLS_VERSION:-}"
cri_version="${cri_forced:-v1.${minor}.0}"
cri_recorded=
if [ -f "$cri_src/.kubebake-ready" ]; then
  cri_recorded=$(head -n 1 "$cri_src/.kubebake-ready")
fi

# ------------------------------------------------------------------- cache

declare -A note=()
todo=()
for b in "${want[@]}"; do
  if [ -x "$outdir/$b" ]; then
    t0=$(now)
    have=$(reported "$b" "$outdir/$b")
    if [ "$b" = crictl ] && [ -z "$cri_forced" ] && [ -n "$cri_recorded" ] &&
      [ "$have" != "$cri_version" ] && [ "$have" = "$cri_recorded" ]; then
      cri_version=$cri_recorded # the fallback an earlier run settled on
    fi
    if [ -n "$have" ] && [ "$have" = "$(expected "$b")" ]; then
      note[$b]="cached (version check $(elapsed "$t0" 2)s)"
      continue
    fi
    extra=
    if [ "$b" = crictl ] && [ -n "$cri_recorded" ] && [ "$cri_recorded" != "$cri_version" ]; then
      extra=" (or $cri_recorded, the fallback an earlier run chose)"
    fi
    log "$b in $outdir reports '${have:-nothing}', want $(expected "$b")$extra: rebuilding"
  fi
  todo+=("$b")
done

# ------------------------------------------------------- kubernetes module

kube_ready="$src/.kubebake-ready"

setup_kubernetes() {
  [ -f "$kube_ready" ] && return 0
  log "setting up tools module $src for k8s.io/kubernetes@$version"
  rm -f "$src/go.mod" "$src/go.sum"
  (cd "$src" && go mod init kubebake.local/k8s-tools >/dev/null 2>&1) ||
    die "go mod init failed in $src"

  local line kdir
  line=$(cd "$src" && download "k8s.io/kubernetes@$version")
  case "$line" in
    ok*) kdir=$(cut -f3 <<<"$line") ;;
    err*) die "module k8s.io/kubernetes@$version is not available from $goproxy: $(cut -f3- <<<"$line")" ;;
    *) die "go mod download k8s.io/kubernetes@$version gave no answer (GOPROXY=$goproxy)" ;;
  esac
  [ -f "$kdir/go.mod" ] || die "k8s.io/kubernetes@$version: no go.mod in $kdir"

  # Kubernetes' replace directives, "OLD[ VER] => NEW[ VER]" per line.
  local -a staging=() verbatim=()
  local old new
  while IFS= read -r line; do
    [[ "$line" == *"=>"* ]] || continue
    old=$(awk '{ print $1 }' <<<"${line%%=>*}")
    new=$(awk '{ print $1 "@" $2 }' <<<"${line#*=>}")
    case "$new" in
      ./staging/* | staging/*) staging+=("$old") ;;
      ./* | ../* | /*) log "ignoring local replace of $old => ${new%@} (not a staging module)" ;;
      *) verbatim+=("$old=$new") ;;
    esac
  done < <(go_mod_replaces "$kdir/go.mod")
  [ "${#staging[@]}" -gt 0 ] || die "found no staging replaces in $kdir/go.mod"

  # Probe each staging module at v0.MINOR.PATCH; keep only what resolves.
  log "probing ${#staging[@]} staging modules at $staging_version"
  local -a probe=() edits=() skipped=()
  local -A ok=()
  local m st path msg
  for m in "${staging[@]}"; do probe+=("$m@$staging_version"); done
  while IFS=$'\t' read -r st path msg; do
    if [ "$st" = ok ]; then
      ok[$path]=1
    else
      log "skipping $path@$staging_version: $msg"
    fi
  done < <(cd "$src" && download "${probe[@]}")
  for m in "${staging[@]}"; do
    if [ -n "${ok[$m]:-}" ]; then
      edits+=("-replace=$m=$m@$staging_version")
    else
      skipped+=("$m")
    fi
  done
  for m in "${verbatim[@]}"; do edits+=("-replace=${m%@}"); done
  if [ "${#skipped[@]}" -gt 0 ]; then
    log "left out (not on the proxy at $staging_version): ${skipped[*]}"
  fi
  (cd "$src" && quietly go-mod-edit go mod edit "${edits[@]}") || die "go mod edit failed in $src"

  log "go get k8s.io/kubernetes@$version"
  if ! (cd "$src" && quietly go-get-kubernetes go get "k8s.io/kubernetes@$version"); then
    die "go get k8s.io/kubernetes@$version failed in $src${skipped[*]:+ (left-out staging modules: ${skipped[*]})}"
  fi
  {
    echo "$version"
    echo "staging $staging_version: ${#edits[@]} replaces; skipped: ${skipped[*]:-none}"
  } >"$kube_ready"
}

# ---------------------------------------------------------- cri-tools module

cri_ready="$cri_src/.kubebake-ready"
cri_dir=

setup_cri_tools() {
  if [ -f "$cri_ready" ] && [ "$(head -n 1 "$cri_ready")" = "$cri_version" ]; then
    cri_dir=$(sed -n 2p "$cri_ready")
    [ -d "$cri_dir" ] && return 0
  fi
  log "setting up tools module $cri_src for sigs.k8s.io/cri-tools@$cri_version"
  mkdir -p "$cri_src"
  rm -f "$cri_src/go.mod" "$cri_src/go.sum" "$cri_ready"
  (cd "$cri_src" && go mod init kubebake.local/cri-tools >/dev/null 2>&1) ||
    die "go mod init failed in $cri_src"

  local line
  line=$(cd "$cri_src" && download "sigs.k8s.io/cri-tools@$cri_version")
  if [[ "$line" != ok* ]]; then
    local why
    why=$(cut -f3- <<<"$line")
    if [ -n "$cri_forced" ] || [ "$cri_version" = "$cri_fallback" ]; then
      die "module sigs.k8s.io/cri-tools@$cri_version (for crictl) is not available from $goproxy: ${why:-no answer}"
    fi
    log "sigs.k8s.io/cri-tools@$cri_version is not on the proxy (${why:-no answer})"
    log "falling back to sigs.k8s.io/cri-tools@$cri_fallback for crictl (CRI v1; set KUBEBAKE_CRI_TOOLS_VERSION to choose another)"
    cri_version=$cri_fallback
    line=$(cd "$cri_src" && download "sigs.k8s.io/cri-tools@$cri_version")
    [[ "$line" == ok* ]] ||
      die "fallback module sigs.k8s.io/cri-tools@$cri_version (for crictl) is not available either: $(cut -f3- <<<"$line")"
  fi
  cri_dir=$(cut -f3 <<<"$line")
  # The version variable cri-tools' Makefile sets: pkg/version.Version.
  grep -qs '^var Version ' "$cri_dir"/pkg/version/*.go ||
    die "sigs.k8s.io/cri-tools@$cri_version has no pkg/version.Version variable to stamp (looked in $cri_dir/pkg/version)"
  log "go get sigs.k8s.io/cri-tools@$cri_version"
  (cd "$cri_src" && quietly go-get-cri-tools go get "sigs.k8s.io/cri-tools@$cri_version" "sigs.k8s.io/cri-tools/cmd/crictl@$cri_version") ||
    die "go get sigs.k8s.io/cri-tools@$cri_version failed in $cri_src"
  printf '%s\n%s\n' "$cri_version" "$cri_dir" >"$cri_ready"
}

# ------------------------------------------------------------------- build

tmp=
cleanup() { if [ -n "$tmp" ]; then rm -f "$tmp"; fi; }
trap cleanup EXIT

kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$git_minor"
done

build() {
  local b=$1 dir pkg ldflags have t0
  case "$b" in
    crictl)
      setup_cri_tools
      dir=$cri_src
      pkg=sigs.k8s.io/cri-tools/cmd/crictl
      ldflags="-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$cri_version"
      ;;
    *)
      setup_kubernetes
      dir=$src
      pkg=k8s.io/kubernetes/cmd/$b
      ldflags=$kube_ldflags
      ;;
  esac
  log "building $b ($pkg@$(expected "$b"))"
  t0=$(now)
  if [ "$b" != crictl ]; then
    # Pinned: adds whatever this command needs to go.mod/go.sum.
    (cd "$dir" && quietly "go-get-$b" go get "$pkg@$version") ||
      die "cannot resolve $pkg@$version for $b (module k8s.io/kubernetes@$version, tools module $dir)"
  fi
  tmp=$(mktemp "$outdir/.$b.XXXXXX")
  if ! (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg"); then
    die "go build of $b failed ($pkg@$(expected "$b"), tools module $dir); see the output above"
  fi
  have=$(reported "$b" "$tmp")
  [ "$have" = "$(expected "$b")" ] ||
    die "$b was built but reports '${have:-nothing}' instead of $(expected "$b") (version ldflags not applied?)"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$outdir/$b"
  tmp=
  note[$b]="built in $(elapsed "$t0")s"
}

# fallback_note NAME: says when crictl is not cri-tools v1.MINOR.0.
fallback_note() {
  if [ "$1" = crictl ] && [ -z "$cri_forced" ] && [ "$cri_version" != "v1.${minor}.0" ]; then
    echo " (cri-tools v1.${minor}.0 is not on the proxy)"
  fi
}

for b in "${todo[@]}"; do build "$b"; done

# ----------------------------------------------------------------- summary

echo "Kubernetes $version binaries in $outdir:"
width=0
for b in "${want[@]}"; do [ "${#b}" -le "$width" ] || width=${#b}; done
for b in "${want[@]}"; do
  size=$(stat -c %s "$outdir/$b")
  printf "  %-${width}s %-9s %6.1f MiB  %s\n" "$b" "$(reported "$b" "$outdir/$b")" \
    "$(awk -v s="$size" 'BEGIN { print s / 1048576 }')" "${note[$b]}$(fallback_note "$b")"
done
