#!/usr/bin/env bash
# make e2e-sources: the packages and binaries sources of Kubernetes, proven
# against servers in upstream's layouts on loopback (hack/srcrepo), since
# pkgs.k8s.io, dl.k8s.io and GitHub cannot be reached here:
#   1. Kubernetes $K8S_VERSION node binaries built from Go modules, the CNI
#      plugins from Debian's containernetworking-plugins package;
#   2. an apt repository in pkgs.k8s.io's layout (kubelet, kubeadm, kubectl,
#      cri-tools, kubernetes-cni .debs, Release signed by a key made for
#      this run), dl.k8s.io's release layout, cri-tools' and the CNI
#      plugins' release tarballs, each with its .sha256; a copy signed by
#      another key, a copy whose kubelet has other bytes and one whose CNI
#      plugins tarball has;
#   3. bake `from: debian-13-containerd` with kubernetes.source packages
#      (the mirror's URL, the key as a file, its fingerprint pinned) and
#      with kubernetes.source binaries (release, cri-tools and CNI URLs);
#      each image passes kubebake test (packages held at the version) and
#      its manifest records where Kubernetes came from;
#   4. bakes that must fail, each with its message and no image: the
#      repository signed by another key, a version the repository does not
#      have, a pinned fingerprint the key does not have, a kubelet and a
#      CNI plugins tarball whose bytes do not match their .sha256.
# Prints every figure; the output is the evidence. Needs root.
#   OUT   output directory (default out/e2e-sources)
#   BASE  base image (default OUT/base-debian-13.qcow2, built when missing)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=hack/e2e-lib.sh
source hack/e2e-lib.sh
out=${OUT:-out/e2e-sources}
k8s=${K8S_VERSION:-v1.36.3}
minor=${k8s%.*}
e2e_start e2e-sources

stage "dependencies, kubebake, Kubernetes $k8s node binaries from Go modules, the CNI plugins from Debian"
bash hack/deps.sh
make --no-print-directory build
bash hack/k8s-bin.sh -v "$k8s"
bin="$root/_build/k8s/$k8s/bin"
go build -o bin/srcrepo ./hack/srcrepo
crictl_version=$("$bin/crictl" --version | awk '{print $NF}')
rm -rf "$out/cni-deb" && mkdir -p "$out/cni-deb"
(cd "$out/cni-deb" && apt-get download -q containernetworking-plugins >/dev/null)
deb=$(ls "$out"/cni-deb/containernetworking-plugins_*.deb)
dpkg-deb -x "$deb" "$out/cni-deb/root"
cni_dir="$out/cni-deb/root/usr/lib/cni"
cni_version=v$(dpkg-deb -f "$deb" Version | sed 's/[+~-].*//')
echo "crictl $crictl_version, CNI plugins $cni_version ($(basename "$deb"))"

stage "the servers' trees: good, signed by another key, a kubelet with other bytes"
keys() { # HOME UID: a signing key made for this run; prints its fingerprint
  rm -rf "$1" && mkdir -p "$1" && chmod 700 "$1"
  gpg --homedir "$1" --batch --quiet --passphrase '' --quick-gen-key "$2" ed25519 sign never
  gpg --homedir "$1" --batch --with-colons --list-keys "$2" | awk -F: '$1 == "fpr" { print $10; exit }'
}
fpr=$(keys "$out/gnupg" "kubebake e2e repository")
impostor_fpr=$(keys "$out/gnupg-impostor" "kubebake e2e impostor")
www="$out/www"
layout() { # DIR GNUPGHOME UID
  bin/srcrepo layout -bin "$bin" -cni "$cni_dir" -version "$k8s" -crictl-version "$crictl_version" \
    -cni-version "$cni_version" -gnupghome "$2" -key "$3" -out "$1"
}
layout "$www/good" "$out/gnupg" "kubebake e2e repository"
layout "$www/impostor" "$out/gnupg-impostor" "kubebake e2e impostor"
rm -rf "$www/tampered" && cp -a "$www/good" "$www/tampered"
printf '\0' >>"$www/tampered/dl/release/$k8s/bin/linux/amd64/kubelet"
cni_tgz="cni/$cni_version/cni-plugins-linux-amd64-$cni_version.tgz"
rm -rf "$www/tampered-cni" && cp -a "$www/good" "$www/tampered-cni"
printf '\0' >>"$www/tampered-cni/$cni_tgz"
repo_key="$www/good/pkgs/core:/stable:/$minor/deb/Release.key"
fig "apt repository size (bytes)" "$(du -sb "$www/good/pkgs" | cut -f1)"

bin/srcrepo serve -dir "$www" -addr-file "$out/url" 2>"$out/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do [ -s "$out/url" ] && break; sleep 0.2; done
url=$(cat "$out/url")
echo "serving $www on $url"
e2e_base

recipe() { # NAME KUBERNETES-YAML [VERSION]
  cat <<RECIPE
apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: $1
from: debian-13-containerd
kubernetes:
  version: ${3:-$k8s}
$2
RECIPE
}
packages() { # REPO FINGERPRINT
  cat <<YAML
  source: packages
  packages:
    url: $url/$1/pkgs
    key:
      file: $repo_key
      fingerprint: "$2"
  cniPlugins:
    source: packages
YAML
}
binaries() { # TREE
  cat <<YAML
  source: binaries
  crictlVersion: $crictl_version
  binaries:
    url: $url/$1/dl/release
    criToolsURL: $url/$1/cri-tools
  cniPlugins:
    source: binaries
    version: $cni_version
    url: $url/$1/cni
YAML
}
build() { # NAME: bakes $out/NAME.yaml into $out/NAME
  rm -rf "${out:?}/$1"
  bin/kubebake build "$out/$1.yaml" --base "$base" --dest "$out/$1" --firstboot-binary bin/kubebake-firstboot
}

rc=0
for src in packages binaries; do
  stage "bake with kubernetes.source $src from the loopback servers, then kubebake test"
  if [ "$src" = packages ]; then
    recipe sources-packages "$(packages good "$fpr")" >"$out/sources-packages.yaml"
    origin="$url/good/pkgs/core:/stable:/$minor/deb/"
  else
    recipe sources-binaries "$(binaries good)" >"$out/sources-binaries.yaml"
    origin="$url/good/dl/release"
  fi
  t=$SECONDS
  build "sources-$src" 2>&1 | tee "$out/sources-$src.log"
  fig "bake, kubernetes.source $src (s)" "$((SECONDS - t))"
  image="$out/sources-$src/sources-$src.qcow2"
  fig "image size compressed, $src (bytes)" "$(stat -c %s "$image")"
  got=$(jq -r '.kubernetesSource + " " + .kubernetesOrigin' "$out/sources-$src/manifest.json")
  if [ "$got" != "$src $origin" ]; then
    echo "FAIL: the manifest records '$got', want '$src $origin'" >&2
    rc=1
  fi
  t=$SECONDS
  bin/kubebake test "$image" --serial-log "$out/sources-$src/test-serial.log" --report "$out/sources-$src/test.json" \
    | tee "$out/sources-$src/test.txt" || rc=1
  fig "kubebake test, $src image (s)" "$((SECONDS - t))"
  if [ "$src" = packages ] && ! grep -q 'kubernetes-packages-held' "$out/sources-$src/test.txt"; then
    echo "FAIL: kubebake test did not check the held packages" >&2
    rc=1
  fi
done
grep -E '\.deb 200$' "$out/server.log" | sed 's/^/server: /' | head -n 5

# expect_failure NAME KUBERNETES-YAML REGEX [VERSION]: the bake must fail,
# say REGEX and leave no image.
expect_failure() {
  recipe "$1" "$2" "${4:-}" >"$out/$1.yaml"
  local t=$SECONDS
  if build "$1" >"$out/$1.log" 2>&1; then
    verdict "$1" " the bake succeeded"
  elif ! grep -qE -- "$3" "$out/$1.log"; then
    verdict "$1" " the bake failed without /$3/: $(tail -n 5 "$out/$1.log" | tr '\n' ' ')"
  elif ls "$out/$1"/*.qcow2 >/dev/null 2>&1; then
    verdict "$1" " an image was left"
  else
    echo "$1: $(grep -E -m1 -- "$3" "$out/$1.log")"
    verdict "$1" ""
  fi
  fig "bake that must fail: $1 (s)" "$((SECONDS - t))"
}
stage "bakes that must fail"
expect_failure signed-by-another-key "$(packages impostor "$fpr")" \
  "NO_PUBKEY|not signed|signatures (couldn't|were) (be )?(not )?verified|Missing key|[Ss]ignature"
missing=$minor.$((${k8s##*.} - 1))
expect_failure missing-version "$(packages good "$fpr")" \
  "Version '${missing#v}-1.1' for 'kubelet' was not found" "$missing"
expect_failure fingerprint-pinned-to-another-key "$(packages good "$impostor_fpr")" \
  "the signing key from kubernetes.packages.key.file .* has the fingerprint $fpr, want $impostor_fpr"
expect_failure kubelet-other-bytes "$(binaries tampered)" \
  "sha256 of $url/tampered/dl/release/$k8s/bin/linux/amd64/kubelet is [0-9a-f]{64}, want [0-9a-f]{64}"
expect_failure cni-plugins-other-bytes "$(binaries tampered-cni)" \
  "sha256 of $url/tampered-cni/$cni_tgz is [0-9a-f]{64}, want [0-9a-f]{64}"
echo
cat "$out/figures.txt"
grep -q '^FAULT FAIL' "$out/figures.txt" && rc=1
exit "$rc"
