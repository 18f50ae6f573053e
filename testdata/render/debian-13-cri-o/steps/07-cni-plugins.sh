#!/usr/bin/env bash
# kubebake step 07-cni-plugins: Put the CNI plugins in /opt/cni/bin.
# Rendered from recipe debian-13-cri-o. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
install -d -m 0755 /opt/cni/bin

export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

"${APT[@]}" install --no-install-recommends containernetworking-plugins
# Link the distro's plugins where runtimes and kubelet look for them.
for dir in /usr/lib/cni /usr/libexec/cni; do
  [ -d "$dir" ] || continue
  for plugin in "$dir"/*; do
    if [ -f "$plugin" ] && [ -x "$plugin" ]; then
      ln -sfn "$plugin" "/opt/cni/bin/$(basename "$plugin")"
    fi
  done
done
[ -x /opt/cni/bin/bridge ] && [ -x /opt/cni/bin/host-local ] && [ -x /opt/cni/bin/loopback ]
