#!/usr/bin/env bash
# kubebake step 06-kubernetes: Install kubelet, kubeadm, kubectl and crictl v1.36.3.
# Rendered from recipe debian-13-containerd. Safe to run more than once.
set -euo pipefail
KUBEBAKE_STAGE="${KUBEBAKE_STAGE:-/var/tmp/kubebake}"

# Files this step places.
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/systemd/system/kubelet.service /etc/systemd/system/kubelet.service
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/systemd/system/kubelet.service.d/10-kubeadm.conf /etc/systemd/system/kubelet.service.d/10-kubeadm.conf
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/systemd/system/kubelet.service.d/05-kubebake-wait-for-config.conf /etc/systemd/system/kubelet.service.d/05-kubebake-wait-for-config.conf
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/default/kubelet /etc/default/kubelet
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/kubernetes/kubelet.conf.d/10-kubebake.conf /etc/kubernetes/kubelet.conf.d/10-kubebake.conf
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/crictl.yaml /etc/crictl.yaml
install -D -m 0644 -o root -g root "$KUBEBAKE_STAGE/rootfs"/etc/systemd/logind.conf.d/10-kubebake-kubelet.conf /etc/systemd/logind.conf.d/10-kubebake-kubelet.conf
install -m 0755 "$KUBEBAKE_STAGE/inputs/kubeadm" /usr/bin/kubeadm
install -m 0755 "$KUBEBAKE_STAGE/inputs/kubelet" /usr/bin/kubelet
install -m 0755 "$KUBEBAKE_STAGE/inputs/kubectl" /usr/bin/kubectl
install -m 0755 "$KUBEBAKE_STAGE/inputs/crictl" /usr/bin/crictl
systemctl enable kubelet.service

# The package's default copies of the files above are not in force.
rm -f /etc/systemd/system/kubelet.service.dpkg-dist /etc/systemd/system/kubelet.service.dpkg-new /etc/systemd/system/kubelet.service.rpmnew
rm -f /etc/systemd/system/kubelet.service.d/10-kubeadm.conf.dpkg-dist /etc/systemd/system/kubelet.service.d/10-kubeadm.conf.dpkg-new /etc/systemd/system/kubelet.service.d/10-kubeadm.conf.rpmnew
rm -f /etc/systemd/system/kubelet.service.d/05-kubebake-wait-for-config.conf.dpkg-dist /etc/systemd/system/kubelet.service.d/05-kubebake-wait-for-config.conf.dpkg-new /etc/systemd/system/kubelet.service.d/05-kubebake-wait-for-config.conf.rpmnew
rm -f /etc/default/kubelet.dpkg-dist /etc/default/kubelet.dpkg-new /etc/default/kubelet.rpmnew
rm -f /etc/kubernetes/kubelet.conf.d/10-kubebake.conf.dpkg-dist /etc/kubernetes/kubelet.conf.d/10-kubebake.conf.dpkg-new /etc/kubernetes/kubelet.conf.d/10-kubebake.conf.rpmnew
rm -f /etc/crictl.yaml.dpkg-dist /etc/crictl.yaml.dpkg-new /etc/crictl.yaml.rpmnew
rm -f /etc/systemd/logind.conf.d/10-kubebake-kubelet.conf.dpkg-dist /etc/systemd/logind.conf.d/10-kubebake-kubelet.conf.dpkg-new /etc/systemd/logind.conf.d/10-kubebake-kubelet.conf.rpmnew
