#!/usr/bin/env bash
# Builds the control-plane images kubeadm pulls for a Kubernetes version
# (kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, etcd,
# coredns, pause) from Go modules only, offline, cached, as image archives a
# kubebake recipe imports with `images.archives`.
#
#   hack/k8s-images.sh [-v VERSION] [-o OUTDIR]
#
#   VERSION  Kubernetes release, default v1.36.3
#   OUTDIR   where the archives go, default _build/k8s-images/VERSION
#
# Output: OUTDIR/NAME.tar per image (docker-save format that also carries an
# OCI image layout, so `docker load` and `ctr -n k8s.io images import` both
# take it, and containerd keeps the manifest digest), and OUTDIR/images.json
# (name, tag, file, manifest digest, size per image).
#
# How:
#   - Names and tags are what `kubeadm config images list
#     --kubernetes-version VERSION` prints, with kubeadm from hack/k8s-bin.sh.
#   - kube-*: hack/k8s-bin.sh builds them from k8s.io/kubernetes@VERSION
#     (its tools module and cache, _build/k8s/VERSION).
#   - etcd, etcdctl: go.etcd.io/etcd/{server,etcdctl}/v3 at the etcd tag's
#     version (3.6.8-0 -> v3.6.8; $KUBEBAKE_ETCD_VERSION forces one), tools
#     module _build/k8s-images/tools/etcd-VERSION.
#   - coredns: github.com/coredns/coredns at the coredns tag
#     ($KUBEBAKE_COREDNS_VERSION forces one), tools module
#     _build/k8s-images/tools/coredns-VERSION.
#   - pause: hack/k8simages/pause, our own static Go pause, from this module.
#   - kube-proxy's iptables (nft backend) and the libraries it loads: the
#     build machine's Debian packages (apt-get download, dpkg-deb -x).
#   - Binaries: CGO_ENABLED=0 go build -trimpath, version ldflags as upstream
#     sets them, checked with --version, cached under _build/k8s-images/bin.
#   - Images: hack/k8simages (go-containerregistry), deterministic, rebuilt
#     only when a binary changed.
#
# Versions are always pinned: @latest/@upgrade queries are never made.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=v1.36.3
outdir=

log() { echo "k8s-images: $*" >&2; }
die() {
  echo "k8s-images: error: $*" >&2
  exit 1
}

usage() {
  cat <<EOF
usage: hack/k8s-images.sh [-v VERSION] [-o OUTDIR]

Builds kubeadm's control-plane images for VERSION from Go modules (module
proxy only) as image archives (OUTDIR/NAME.tar) plus OUTDIR/images.json.

  -v VERSION  Kubernetes version (default v1.36.3)
  -o OUTDIR   output directory (default _build/k8s-images/VERSION under the repository)
  -h          this help

Environment:
  KUBEBAKE_ETCD_VERSION     etcd module version (default: from kubeadm's etcd tag)
  KUBEBAKE_COREDNS_VERSION  coredns module version (default: kubeadm's coredns tag)
  SOURCE_DATE_EPOCH         image timestamps (default 0)
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
[[ "$version" =~ ^v1\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] ||
  die "VERSION must look like v1.36.3 (got '$version')"

command -v go >/dev/null 2>&1 || die "go is not on PATH"
export GOWORK=off

base="$root/_build/k8s-images"
tools="$base/tools"
bindir="$base/bin"
[ -n "$outdir" ] || outdir="$base/$version"
mkdir -p "$outdir" "$tools" "$bindir"
outdir=$(cd "$outdir" && pwd)

# One run at a time: runs share the tools modules and binaries.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$base/.lock"
  if ! flock -n 9; then
    log "waiting for another k8s-images run to finish"
    flock 9
  fi
fi

KB_LOG_DIR="$base/logs"
# shellcheck source=hack/lib.sh
. "$root/hack/lib.sh"

tmp=
cleanup() { if [ -n "$tmp" ]; then rm -f "$tmp"; fi; }
trap cleanup EXIT

# ------------------------------------------------- kubeadm and kube-* binaries

kube_bins=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy)
kbin="$root/_build/k8s/$version/bin"
t0=$(now)
# k8s-bin.sh's summary goes to stderr: stdout is this script's summary.
bash "$root/hack/k8s-bin.sh" -v "$version" kubeadm "${kube_bins[@]}" >&2 ||
  die "hack/k8s-bin.sh -v $version failed (see above)"
log "kube-* binaries ready in $(elapsed "$t0")s"

# --------------------------------------------------------------- image list

mapfile -t refs < <("$kbin/kubeadm" config images list --kubernetes-version "$version" 2>/dev/null)
[ "${#refs[@]}" -gt 0 ] ||
  die "'kubeadm config images list --kubernetes-version $version' printed nothing: $("$kbin/kubeadm" config images list --kubernetes-version "$version" 2>&1 | tail -n 3)"
etcd_tag='' coredns_tag='' pause_tag=''
for ref in "${refs[@]}"; do
  repo=${ref%:*}
  tag=${ref##*:}
  [ "$repo" != "$ref" ] || die "kubeadm listed '$ref', which has no tag"
  case "${repo##*/}" in
    kube-apiserver | kube-controller-manager | kube-scheduler | kube-proxy)
      [ "$tag" = "$version" ] || die "kubeadm lists $ref, expected tag $version"
      ;;
    etcd) etcd_tag=$tag ;;
    coredns) coredns_tag=$tag ;;
    pause) pause_tag=$tag ;;
    *) die "kubeadm lists $ref, which this script cannot build" ;;
  esac
done
if [ -z "$etcd_tag" ] || [ -z "$coredns_tag" ] || [ -z "$pause_tag" ]; then
  die "kubeadm's image list lacks etcd, coredns or pause: ${refs[*]}"
fi

# etcd tag 3.6.8-0 is etcd v3.6.8 (the -N counts image rebuilds).
etcd_version=${KUBEBAKE_ETCD_VERSION:-v${etcd_tag%-*}}
[[ "$etcd_version" == v* ]] || etcd_version="v$etcd_version"
coredns_version=${KUBEBAKE_COREDNS_VERSION:-$coredns_tag}
[[ "$coredns_version" == v* ]] || coredns_version="v$coredns_version"

# ------------------------------------------------------- Go tools modules

# setup_module DIR NAME MODULE@VERSION... : makes DIR a tools module that
# requires each MODULE at VERSION (pinned), once; prints the commit hash the
# proxy gives for the first module ("" if none). Dies with the proxy's
# message when a module does not resolve.
setup_module() {
  local dir=$1 name=$2 line hash=
  shift 2
  local ready="$dir/.kubebake-ready" want="$*"
  if [ -f "$ready" ] && [ "$(head -n 1 "$ready")" = "$want" ]; then
    sed -n 2p "$ready"
    return 0
  fi
  log "setting up tools module $dir for $want"
  mkdir -p "$dir"
  rm -f "$dir/go.mod" "$dir/go.sum" "$ready"
  (cd "$dir" && go mod init "kubebake.local/$name" >/dev/null 2>&1) || die "go mod init failed in $dir"
  local m first=1
  for m in "$@"; do
    line=$(cd "$dir" && download "$m")
    case "$line" in
      ok*) ;;
      err*) die "module $m is not available from $(go env GOPROXY): $(cut -f3- <<<"$line") (set the version with the KUBEBAKE_*_VERSION variables, see -h)" ;;
      *) die "go mod download $m gave no answer (GOPROXY=$(go env GOPROXY))" ;;
    esac
    if [ "$first" = 1 ]; then
      hash=$(cut -f4 <<<"$line")
      first=0
    fi
  done
  (cd "$dir" && quietly "go-get-$name" go get "$@") || die "go get $want failed in $dir"
  printf '%s\n%s\n' "$want" "$hash" >"$ready"
  echo "$hash"
}

# reported NAME PATH: the version the binary reports ("" if it cannot say).
reported() {
  local out
  case "$1" in
    etcd) out=$(timeout 60 "$2" --version 2>/dev/null | sed -n 's/^etcd Version: //p') || return 0 ;;
    etcdctl) out=$(timeout 60 "$2" version 2>/dev/null | sed -n 's/^etcdctl version: //p') || return 0 ;;
    coredns) out=$(timeout 60 "$2" -version 2>/dev/null | sed -n 's/^CoreDNS-//p') || return 0 ;;
    pause) out=$(timeout 60 "$2" -v 2>/dev/null | awk '{ print $NF }') || return 0 ;;
  esac
  printf '%s\n' "$out" | head -n 1
}

# gobuild NAME DIR PKG WANT OUT LDFLAGS [TAGS]: builds PKG in module DIR into
# OUT, unless OUT already reports version WANT; checks the new binary reports
# WANT and renames it into place.
declare -A note=()
gobuild() {
  local name=$1 dir=$2 pkg=$3 want=$4 out=$5 ldflags=$6 tags=${7:-} have t0
  if [ -x "$out" ] && [ "$(reported "$name" "$out")" = "$want" ]; then
    note[$name]="cached"
    return 0
  fi
  log "building $name ($pkg, $want)"
  t0=$(now)
  mkdir -p "$(dirname "$out")"
  tmp=$(mktemp "$(dirname "$out")/.$name.XXXXXX")
  if ! (cd "$dir" && CGO_ENABLED=0 go build -trimpath ${tags:+-tags "$tags"} -ldflags "$ldflags" -o "$tmp" "$pkg"); then
    die "go build of $name failed ($pkg, module $dir); see the output above"
  fi
  have=$(reported "$name" "$tmp")
  [ "$have" = "$want" ] || die "$name was built but reports '${have:-nothing}' instead of $want"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$out"
  tmp=
  note[$name]="built in $(elapsed "$t0")s"
}

# ------------------------------------------------------------------- etcd

etcd_out="$bindir/etcd-$etcd_version"
t0=$(now)
if [ "$(reported etcd "$etcd_out/etcd" 2>/dev/null)" != "${etcd_version#v}" ] ||
  [ "$(reported etcdctl "$etcd_out/etcdctl" 2>/dev/null)" != "${etcd_version#v}" ]; then
  etcd_src="$tools/etcd-$etcd_version"
  etcd_hash=$(setup_module "$etcd_src" etcd "go.etcd.io/etcd/server/v3@$etcd_version" "go.etcd.io/etcd/etcdctl/v3@$etcd_version")
  # etcd's scripts/build_lib.sh: GIT_SHA=$(git rev-parse --short HEAD || echo "GitNotFound").
  etcd_sha=${etcd_hash:0:7}
  etcd_ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${etcd_sha:-GitNotFound}"
  gobuild etcd "$etcd_src" go.etcd.io/etcd/server/v3 "${etcd_version#v}" "$etcd_out/etcd" "$etcd_ldflags"
  gobuild etcdctl "$etcd_src" go.etcd.io/etcd/etcdctl/v3 "${etcd_version#v}" "$etcd_out/etcdctl" "$etcd_ldflags"
  log "etcd binaries ready in $(elapsed "$t0")s"
else
  note[etcd]=cached
  note[etcdctl]=cached
fi

# ----------------------------------------------------------------- coredns

coredns_out="$bindir/coredns-$coredns_version"
t0=$(now)
if [ "$(reported coredns "$coredns_out/coredns" 2>/dev/null)" != "${coredns_version#v}" ]; then
  coredns_src="$tools/coredns-$coredns_version"
  coredns_hash=$(setup_module "$coredns_src" coredns "github.com/coredns/coredns@$coredns_version")
  # CoreDNS' Makefile: -X coremain.GitCommit=$(git describe --dirty --always), -tags grpcnotrace.
  coredns_commit=${coredns_hash:0:7}
  gobuild coredns "$coredns_src" github.com/coredns/coredns "${coredns_version#v}" "$coredns_out/coredns" \
    "-s -w -X github.com/coredns/coredns/coremain.GitCommit=${coredns_commit:-$coredns_version}" grpcnotrace
  log "coredns ready in $(elapsed "$t0")s"
else
  note[coredns]=cached
fi

# ------------------------------------------------------------------- pause

# Our own, from this module: go build's cache makes a rebuild cost seconds,
# and the image is only rebuilt when the binary's hash changes.
pause_out="$bindir/pause-$pause_tag/pause"
t0=$(now)
gobuild pause "$root" ./hack/k8simages/pause "$pause_tag" "$pause_out.new" "-s -w -X main.version=$pause_tag"
if [ -x "$pause_out" ] && cmp -s "$pause_out" "$pause_out.new"; then
  rm -f "$pause_out.new"
  note[pause]="unchanged ($(elapsed "$t0")s)"
else
  mv -f "$pause_out.new" "$pause_out"
  note[pause]="built in $(elapsed "$t0")s"
fi

# ------------------------------------------- kube-proxy's iptables (Debian)

# kube-proxy programs the node with iptables (nft backend, as Debian 12/13
# hosts use): its image carries iptables and the libraries it loads, from
# the build machine's Debian packages (apt-get download, no root). The tree
# is rebuilt only when apt's candidate versions change.
proxy_pkgs=(iptables libip4tc2 libip6tc2 libxtables12 libmnl0 libnetfilter-conntrack3
  libnfnetlink0 libnftnl11 libc6 netbase)
proxy_tree="$base/kube-proxy-root"
t0=$(now)
command -v apt-get >/dev/null 2>&1 || die "apt-get is not on PATH: kube-proxy's iptables come from Debian packages"
want_debs=$(apt-cache show --no-all-versions "${proxy_pkgs[@]}" 2>/dev/null |
  awk '/^Package: /{p=$2} /^Version: /{print p "=" $2}' | sort | tr '\n' ' ')
[ "$(wc -w <<<"$want_debs")" -eq "${#proxy_pkgs[@]}" ] ||
  die "apt knows only '$want_debs' of ${proxy_pkgs[*]} (run apt-get update)"
if [ ! -d "$proxy_tree" ] || [ "$(cat "$proxy_tree.debs" 2>/dev/null)" != "$want_debs" ]; then
  debdir="$base/debs"
  rm -rf "$debdir" "$proxy_tree.new"
  mkdir -p "$debdir" "$proxy_tree.new"
  # shellcheck disable=SC2086 # word splitting of pkg=version is intended
  (cd "$debdir" && quietly apt-download apt-get download $want_debs) ||
    die "apt-get download $want_debs failed"
  for d in "$debdir"/*.deb; do dpkg-deb -x "$d" "$proxy_tree.new" || die "dpkg-deb -x $d failed"; done
  # Only what iptables runs with: no docs, locales, gconv or libc's tools.
  rm -rf "$proxy_tree.new"/usr/share "$proxy_tree.new"/usr/bin "$proxy_tree.new"/usr/libexec \
    "$proxy_tree.new"/usr/lib/*/gconv "$proxy_tree.new"/etc/ld.so.conf.d
  for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -sfn xtables-nft-multi "$proxy_tree.new/usr/sbin/$t"
  done
  # The loader of the tree runs the tree's iptables here, no root needed,
  # on every library directory of the tree: bookworm's libc6 is not
  # merged-/usr (/lib/<triplet>), its other libraries are (/usr/lib/<triplet>).
  libs=$(find "$proxy_tree.new" -name 'lib*.so*' -printf '%h\n' | sort -u | paste -sd:)
  ld=$(find "$proxy_tree.new" -name 'ld-linux*.so*' -type f | head -n1)
  if ! find "$proxy_tree.new" -name 'libc.so.6' | grep -q . || [ -z "$ld" ]; then
    die "the kube-proxy tree has no libc or loader"
  fi
  ipt=$("$ld" --library-path "$libs" "$proxy_tree.new/usr/sbin/xtables-nft-multi" iptables --version 2>&1) ||
    die "the kube-proxy tree's iptables does not run: $ipt"
  rm -rf "$proxy_tree"
  mv "$proxy_tree.new" "$proxy_tree"
  printf '%s' "$want_debs" >"$proxy_tree.debs"
  note[iptables]="$ipt, from Debian packages in $(elapsed "$t0")s"
else
  note[iptables]="cached"
fi

# ------------------------------------------------------------------ images

k8simages="$bindir/k8simages"
(cd "$root" && CGO_ENABLED=0 go build -trimpath -o "$k8simages.new" ./hack/k8simages) ||
  die "go build ./hack/k8simages failed"
mv -f "$k8simages.new" "$k8simages"

bins=()
for b in "${kube_bins[@]}"; do bins+=(-bin "$b=$kbin/$b"); done
bins+=(-bin "etcd=$etcd_out/etcd" -bin "etcdctl=$etcd_out/etcdctl")
bins+=(-bin "coredns=$coredns_out/coredns" -bin "pause=$pause_out")
bins+=(-tree "kube-proxy=$proxy_tree")

echo "Binaries for Kubernetes $version images:"
for b in etcd etcdctl coredns pause; do
  case "$b" in
    etcd | etcdctl) p="$etcd_out/$b" ;;
    coredns) p="$coredns_out/$b" ;;
    pause) p="$pause_out" ;;
  esac
  printf '  %-8s %-8s %6.1f MiB  %s\n' "$b" "$(reported "$b" "$p")" \
    "$(awk -v s="$(stat -c %s "$p")" 'BEGIN { print s / 1048576 }')" "${note[$b]:-}"
done
echo "  iptables (kube-proxy) ${note[iptables]}"
[ "$etcd_version" = "v${etcd_tag%-*}" ] || echo "  note: etcd image $etcd_tag carries etcd $etcd_version (KUBEBAKE_ETCD_VERSION)"
[ "$coredns_version" = "$coredns_tag" ] || echo "  note: coredns image $coredns_tag carries coredns $coredns_version (KUBEBAKE_COREDNS_VERSION)"

echo "Kubernetes $version images in $outdir:"
t0=$(now)
"$k8simages" -out "$outdir" -kubernetes-version "$version" "${bins[@]}" "${refs[@]}" ||
  die "writing the images failed (see above)"
log "images ready in $(elapsed "$t0")s"
