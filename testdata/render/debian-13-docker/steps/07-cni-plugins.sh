#!/usr/bin/env bash
# kubebake step 07-cni-plugins: Put the CNI plugins in /opt/cni/bin.
# Rendered from recipe debian-13-docker. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"
install -d -m 0755 /opt/cni/bin

export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# kb_live succeeds when this root is a booted system, not a chroot.
kb_live() {
  [ -d /run/systemd/system ] && ! systemd-detect-virt --quiet --chroot 2>/dev/null
}

# kb_installed PACKAGE...: every package is installed.
kb_installed() {
  local status
  status=$(dpkg-query -W -f="\${db:Status-Abbrev}\n" "$@" 2>/dev/null) || return 1
  ! grep -qv '^ii' <<<"$status"
}

# In a chroot the prepare step installed them.
if kb_live || ! kb_installed containernetworking-plugins; then
  "${APT[@]}" install --no-install-recommends containernetworking-plugins
fi
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
