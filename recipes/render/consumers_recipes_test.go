package render_test

// ---------------------------------------------------------------------------
// Recipes under test.

// consumerExtraRecipes start from built-ins and exercise what the built-ins
// leave out. Hook bodies and file contents are the user's; they are written
// to be clean so that any finding is kubebake's.
var consumerExtraRecipes = []struct {
	name string
	doc  string
}{
	{
		name: "containerd-mirrors-dropin",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-containerd-mirrors-dropin
from: ubuntu-24.04-containerd
runtime:
  mirrors:
  - registry: docker.io
    endpoints:
    - https://mirror.gcr.io
    - https://registry-mirror.example.com/cache/
  - registry: registry.k8s.io
    endpoints:
    - https://k8s-mirror.example.com
  config: |
    [plugins."io.containerd.grpc.v1.cri"]
      enable_unprivileged_ports = true
images:
  extra:
  - name: docker.io/library/busybox:1.36.1
    digest: sha256:1111111111111111111111111111111111111111111111111111111111111111
  - name: quay.io/cilium/cilium:v1.16.5
`,
	},
	{
		// The drop-in alone, so that a fault in the mirrors cannot hide it.
		name: "containerd-dropin",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-containerd-dropin
from: debian-13-containerd
runtime:
  config: |
    [plugins."io.containerd.grpc.v1.cri"]
      enable_unprivileged_ports = true
images:
  archives:
  - /var/cache/kubebake/images/v1.36.3/kube-apiserver.tar
  - /var/cache/kubebake/images/v1.36.3/pause.tar
`,
	},
	{
		name: "cri-o-mirrors-dropin",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-cri-o-mirrors-dropin
from: ubuntu-24.04-cri-o
runtime:
  mirrors:
  - registry: docker.io
    endpoints:
    - http://10.0.0.5:5000
    - https://mirror.gcr.io
  - registry: registry.k8s.io
    endpoints:
    - https://k8s-mirror.example.com/k8s/
  config: |
    [crio.runtime]
    log_level = "debug"
images:
  extra:
  - name: docker.io/library/busybox:1.36.1
    digest: sha256:2222222222222222222222222222222222222222222222222222222222222222
`,
	},
	{
		name: "docker-mirror-config",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-docker-mirror-config
from: ubuntu-24.04-docker
runtime:
  mirrors:
  - registry: docker.io
    endpoints:
    - https://mirror.gcr.io
  config: '{"max-concurrent-downloads": 5, "log-opts": {"max-size": "50m", "max-file": "3"}}'
  criDockerd:
    sha256: "3333333333333333333333333333333333333333333333333333333333333333"
images:
  archives:
  - /srv/images/agent.tar
node:
  files:
  - path: /etc/example/settings.yaml
    content: |
      greeting: hello
hooks:
  after:
  - name: docker-info
    run: |
      if command -v docker >/dev/null; then
        docker info --format '{{.CgroupDriver}}' || true
      fi
`,
	},
	{
		name: "binaries-pinned",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-binaries-pinned
from: ubuntu-24.04-containerd
kubernetes:
  source: binaries
  binaries:
    sha256:
      kubeadm: "4444444444444444444444444444444444444444444444444444444444444444"
      kubelet: "5555555555555555555555555555555555555555555555555555555555555555"
      kubectl: "6666666666666666666666666666666666666666666666666666666666666666"
    criToolsURL: https://mirror.example.com/cri-tools/
  cniPlugins:
    url: https://mirror.example.com/cni-plugins
`,
	},
	{
		// A corporate mirror of pkgs.k8s.io with a pinned key it serves.
		name: "packages-mirror-pinned",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-packages-mirror-pinned
from: ubuntu-24.04-containerd
kubernetes:
  packages:
    url: https://artifactory.example.com/artifactory/pkgs-k8s/
    key:
      url: https://artifactory.example.com/keys/kubernetes.gpg
      fingerprint: "DE15 B144 86CD 377B 9E87  6E1A 2346 54DA 9A29 6436"
`,
	},
	{
		// The same on EL, with the key as a file from the build machine.
		name: "packages-mirror-keyfile-rocky",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-packages-mirror-keyfile-rocky
from: rocky-9-cri-o
kubernetes:
  packages:
    url: http://pulp.example.internal/pulp/content/pkgs.k8s.io
    key:
      file: /etc/kubebake/keys/kubernetes.asc
      fingerprint: de15b14486cd377b9e876e1a234654da9a296436
`,
	},
	{
		// CRI-O from local binaries with images imported from archives:
		// skopeo joins the packages, the import function is shellchecked.
		name: "cri-o-local-archives",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-cri-o-local-archives
from: debian-13-cri-o
images:
  preload: true
  archives:
    - /srv/images/kube-apiserver.tar
    - /srv/images/pause.tar
`,
	},
	{
		// The same runtime source on EL: containers-common, not Debian's
		// golang-github-containers-common.
		name: "cri-o-local-rocky",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-cri-o-local-rocky
from: rocky-9-cri-o
runtime:
  source: local
  local:
    dir: /opt/cri-o/bin
`,
	},
	{
		name: "firewall-open-ubuntu",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-firewall-open-ubuntu
from: ubuntu-22.04-containerd
node:
  firewall:
    mode: open
`,
	},
	{
		name: "firewall-open-centos",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-firewall-open-centos
from: centos-stream-9-containerd
node:
  firewall:
    mode: open
    ports:
    - 6443/tcp
    - 10250/tcp
    - 30000-32767/tcp
    - 8472/udp
`,
	},
	{
		name: "kitchen-sink-rocky",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-kitchen-sink-rocky
from: rocky-9-cri-o
node:
  selinux: enforcing
  kernelModules:
  - ip_vs
  sysctls:
    vm.max_map_count: "262144"
  packages:
  - jq
  - vim-enhanced
  files:
  - path: /usr/local/bin/example-agent
    mode: "0755"
    content: |
      #!/bin/sh
      exec sleep infinity
  - path: /etc/systemd/system/example-agent.service
    content: |
      [Unit]
      Description=Example agent placed by node.files
      Wants=network-online.target
      After=network-online.target

      [Service]
      ExecStart=/usr/local/bin/example-agent
      Restart=on-failure

      [Install]
      WantedBy=multi-user.target
  - path: /etc/example/blob.bin
    mode: "0600"
    owner: nobody:nobody
    encoding: base64
    content: AAEC/f7/
images:
  extra:
  - name: quay.io/cilium/cilium:v1.16.5
    digest: sha256:7777777777777777777777777777777777777777777777777777777777777777
hooks:
  before:
  - name: show-kernel
    run: |
      echo "kernel: $(uname -r)"
  after:
  - name: mark-baked
    run: |
      install -d -m 0755 /etc/example
      date -u +%Y-%m-%dT%H:%M:%SZ >/etc/example/baked-at
`,
	},
	{
		name: "fcos-binaries-files-hooks",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-fcos-binaries-files-hooks
from: fedora-coreos-containerd
kubernetes:
  source: binaries
  binaries:
    sha256:
      kubelet: "8888888888888888888888888888888888888888888888888888888888888888"
node:
  files:
  - path: /etc/example/settings.yaml
    content: |
      greeting: hello
  - path: /etc/example/blob.bin
    mode: "0600"
    encoding: base64
    content: AAEC/f7/
images:
  extra:
  - name: quay.io/cilium/cilium:v1.16.5
    digest: sha256:9999999999999999999999999999999999999999999999999999999999999999
hooks:
  after:
  - name: mark-baked
    run: |
      install -d -m 0755 /etc/example
      date -u +%Y-%m-%dT%H:%M:%SZ >/etc/example/baked-at
`,
	},
}
