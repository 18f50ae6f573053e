#!/usr/bin/env bash
# kubebake step 10-seal: Generalize the image: cloud-init, machine-id, SSH host keys, caches, logs, history.
# Rendered from recipe debian-13-docker. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"

# Files this step places.
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/cloud/cloud.cfg.d/80-kubebake-ssh-keys.cfg /etc/cloud/cloud.cfg.d/80-kubebake-ssh-keys.cfg
if command -v cloud-init >/dev/null; then
  cloud-init clean --logs --seed
fi
rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub
# An empty machine-id makes systemd generate a new one on first boot.
truncate -s 0 /etc/machine-id
if [ -d /var/lib/dbus ]; then
  ln -sfn /etc/machine-id /var/lib/dbus/machine-id
fi
apt-get clean
rm -rf /var/lib/apt/lists/*
find /var/log -type f -exec truncate -s 0 {} +
rm -rf /var/log/journal/*
rm -f /root/.bash_history /root/.lesshst /root/.viminfo
for home in /home/*; do
  [ -d "$home" ] && rm -f "$home/.bash_history" "$home/.lesshst" "$home/.viminfo"
done
rm -rf /var/lib/kubelet/pki /etc/kubernetes/pki
# No first-boot result may be baked in.
rm -f /var/lib/kubebake/status.json /var/lib/kubebake/firstboot.success /var/lib/kubebake/firstboot.failed /var/lib/kubebake/kubeadm.done /etc/kubebake/kubeadm.yaml /etc/kubebake/node.yaml
# The bake changed /usr, so systemd would rebuild the linker cache, the
# journal's message catalog and the hardware database at first boot
# (ConditionNeedsUpdate=/etc and /var): seconds of CPU on the boot's
# critical path. Do it now and stamp both up to date, as
# systemd-update-done.service would.
if command -v ldconfig >/dev/null; then
  ldconfig
fi
if command -v journalctl >/dev/null; then
  journalctl --update-catalog || true
fi
if command -v systemd-hwdb >/dev/null; then
  systemd-hwdb update || true
fi
for done_bin in /usr/lib/systemd/systemd-update-done /lib/systemd/systemd-update-done; do
  if [ -x "$done_bin" ]; then
    "$done_bin"
    break
  fi
done

# The package's default copies of the files above are not in force.
rm -f /etc/cloud/cloud.cfg.d/80-kubebake-ssh-keys.cfg.dpkg-dist /etc/cloud/cloud.cfg.d/80-kubebake-ssh-keys.cfg.dpkg-new /etc/cloud/cloud.cfg.d/80-kubebake-ssh-keys.cfg.rpmnew
