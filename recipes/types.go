package recipes

import "github.com/kubebake/kubebake/api"

// APIVersion is the recipe API version this package reads.
const APIVersion = api.Version

// KindRecipe is the kind of a recipe document.
const KindRecipe = "Recipe"

// Recipe says what a Kubernetes node image holds. It is decoded strictly:
// unknown fields are errors.
type Recipe struct {
	// APIVersion must be kubebake.dev/v1alpha1.
	APIVersion string `json:"apiVersion"`
	// Kind must be Recipe.
	Kind string `json:"kind"`
	// Metadata names and describes the recipe.
	Metadata Metadata `json:"metadata"`
	// From names the recipe this one starts from: a built-in, or a recipe
	// file (a path such as ./base.yaml, relative to this file), which may
	// itself start from another. Every field given here overrides it
	// (scalars and lists replace, maps merge); metadata is not inherited.
	From string `json:"from,omitempty"`
	// Base is the distribution the image is built on.
	Base Base `json:"base"`
	// Kubernetes says which version of kubelet, kubeadm and kubectl the
	// image carries and where they come from.
	Kubernetes Kubernetes `json:"kubernetes"`
	// Runtime is the container runtime and its configuration.
	Runtime Runtime `json:"runtime"`
	// Node holds kernel, swap, SELinux, firewall, package and file settings.
	Node Node `json:"node"`
	// Images are pre-loaded into the runtime at bake time.
	Images Images `json:"images"`
	// Firstboot installs the kubebake-firstboot agent.
	Firstboot Firstboot `json:"firstboot"`
	// Hooks are shell steps run before and after the built-in steps.
	Hooks Hooks `json:"hooks"`
	// Seal generalizes the image at the end of the bake.
	Seal Seal `json:"seal"`
}

// Metadata names and describes a recipe.
type Metadata struct {
	// Name of the recipe and of the image it bakes: lower-case letters,
	// digits, '.' and '-'. Defaults to the file name without extension.
	Name string `json:"name,omitempty"`
	// Description is free text for humans.
	Description string `json:"description,omitempty"`
}

// Base is the distribution the image is built on.
type Base struct {
	// Distro is one of ubuntu, debian, centos-stream, rocky, fedora-coreos.
	Distro string `json:"distro"`
	// Release is the distro release: 22.04 or 24.04 (ubuntu), 12 or 13
	// (debian), 9 (centos-stream, rocky), stable (fedora-coreos).
	Release string `json:"release"`
	// Arch is amd64 (default) or arm64.
	Arch string `json:"arch,omitempty"`
}

// Kubernetes says where kubelet, kubeadm, kubectl, crictl and the CNI
// plugins come from.
type Kubernetes struct {
	// Version is a Kubernetes release such as v1.36.3. Defaults to the newest
	// patch release kubebake knows.
	Version string `json:"version,omitempty"`
	// Source is packages (pkgs.k8s.io, held at the version), binaries
	// (release downloads, each checked against its sha256) or local (a
	// directory of binaries on the machine that runs the bake).
	Source string `json:"source,omitempty"`
	// Packages configures the packages source: the repository, for
	// example a mirror of pkgs.k8s.io, and its signing key.
	Packages Packages `json:"packages,omitempty"`
	// Binaries configures the binaries source.
	Binaries Binaries `json:"binaries,omitempty"`
	// Local configures the local source.
	Local Local `json:"local,omitempty"`
	// CrictlVersion is the cri-tools release for crictl; defaults to the
	// Kubernetes minor (v1.36.0 for Kubernetes 1.36).
	CrictlVersion string `json:"crictlVersion,omitempty"`
	// CNIPlugins says where the CNI plugins in /opt/cni/bin come from.
	CNIPlugins CNIPlugins `json:"cniPlugins,omitempty"`
}

// Packages configures the packages source of Kubernetes.
type Packages struct {
	// URL is the base of a repository in pkgs.k8s.io's layout: packages
	// come from URL/core:/stable:/vMINOR/deb/ (apt) or .../rpm/ (dnf), as
	// a mirror of pkgs.k8s.io (Artifactory, Nexus, aptly, Pulp) serves
	// them. Defaults to https://pkgs.k8s.io.
	URL string `json:"url,omitempty"`
	// Key is the repository's signing key. Defaults to the key the
	// repository publishes (Release.key for apt, repodata/repomd.xml.key
	// for dnf).
	Key RepoKey `json:"key,omitempty"`
}

// RepoKey is a package repository's signing key: fetched from a URL or
// copied from a file on the machine that runs the bake, and optionally
// pinned by its fingerprint.
type RepoKey struct {
	// URL is where the key is fetched from: an armored OpenPGP public key
	// (as pkgs.k8s.io's Release.key), or a binary one when the URL ends in
	// .gpg.
	URL string `json:"url,omitempty"`
	// File is an absolute path, on the machine that runs the bake, of the
	// key, armored or, when its name ends in .gpg, binary; it is copied
	// into the image. Exclusive with url.
	File string `json:"file,omitempty"`
	// Fingerprint pins the key: the bake fails unless the key's primary
	// fingerprint is this one (40 or 64 hex digits; spaces are ignored).
	Fingerprint string `json:"fingerprint,omitempty"`
}

// Binaries configures the binaries source of Kubernetes.
type Binaries struct {
	// URL is the release base: files are fetched from
	// URL/VERSION/bin/linux/ARCH/NAME. Defaults to https://dl.k8s.io/release.
	URL string `json:"url,omitempty"`
	// CriToolsURL is the cri-tools release base: crictl comes from
	// URL/VERSION/crictl-VERSION-linux-ARCH.tar.gz, checked against the
	// .sha256 beside it. Defaults to cri-tools' GitHub releases.
	CriToolsURL string `json:"criToolsURL,omitempty"`
	// SHA256 pins the digest of each file by name (kubeadm, kubelet, kubectl).
	// A file without a pinned digest is checked against the NAME.sha256 file
	// published beside it.
	SHA256 map[string]string `json:"sha256,omitempty"`
}

// Local configures the local source of Kubernetes.
type Local struct {
	// Dir is an absolute directory on the machine running the bake that holds
	// kubeadm, kubelet, kubectl and crictl.
	Dir string `json:"dir,omitempty"`
}

// CNIPlugins says where the CNI plugins come from.
type CNIPlugins struct {
	// Source is packages (kubernetes-cni from pkgs.k8s.io), binaries (the
	// containernetworking/plugins release tarball, checked against its
	// sha256) or distro (the distro's containernetworking-plugins package,
	// linked into /opt/cni/bin). Defaults follow kubernetes.source:
	// packages, binaries, and distro for local.
	Source string `json:"source,omitempty"`
	// Version of the release tarball for the binaries source.
	Version string `json:"version,omitempty"`
	// URL is the release base of the binaries source: the tarball comes
	// from URL/VERSION/cni-plugins-linux-ARCH-VERSION.tgz, checked against
	// the .sha256 beside it. Defaults to containernetworking/plugins'
	// GitHub releases.
	URL string `json:"url,omitempty"`
}

// Runtime is the container runtime.
type Runtime struct {
	// Kind is containerd, cri-o or docker (Docker Engine with cri-dockerd).
	Kind string `json:"kind"`
	// Version pins the runtime package. For cri-o it is the CRI-O minor
	// (1.36), which must equal the Kubernetes minor and defaults to it; for
	// containerd and docker it is the exact package version as the distro
	// spells it (default: the newest the repository has).
	Version string `json:"version,omitempty"`
	// Source is distro (the distribution's own packages), upstream
	// (containerd.io / docker-ce from Docker's repository, cri-o from
	// CRI-O's) or local (CRI-O only: crio and pinns from local.dir, with
	// conmon, crun and the containers policy from the distribution, for
	// distributions CRI-O publishes no packages for, such as Debian 13).
	// Defaults to distro where the distribution has the runtime, else
	// upstream.
	Source string `json:"source,omitempty"`
	// Local configures the local source.
	Local RuntimeLocal `json:"local,omitempty"`
	// SandboxImage is the pause image; defaults to the one kubeadm uses for
	// the Kubernetes version.
	SandboxImage string `json:"sandboxImage,omitempty"`
	// Mirrors are registry mirrors, tried before the registry itself.
	Mirrors []Mirror `json:"mirrors,omitempty"`
	// Config is a free-form drop-in in the runtime's own format: TOML for
	// containerd (imported after kubebake's config) and CRI-O (a crio.conf.d
	// drop-in), a JSON object merged into daemon.json for docker.
	Config string `json:"config,omitempty"`
	// CriDockerd configures cri-dockerd for the docker runtime.
	CriDockerd CriDockerd `json:"criDockerd,omitempty"`
}

// RuntimeLocal configures the local source of the runtime.
type RuntimeLocal struct {
	// Dir is an absolute directory on the machine running the bake that
	// holds the runtime's binaries: crio and pinns for cri-o
	// (hack/cri-o.sh builds them from CRI-O's Go module).
	Dir string `json:"dir,omitempty"`
}

// Mirror is a registry mirror.
type Mirror struct {
	// Registry is the registry host the mirror serves, e.g. docker.io or
	// registry.k8s.io.
	Registry string `json:"registry"`
	// Endpoints are mirror URLs (http or https), tried in order.
	Endpoints []string `json:"endpoints"`
}

// CriDockerd configures the cri-dockerd shim.
type CriDockerd struct {
	// Version of cri-dockerd, default 0.4.3.
	Version string `json:"version,omitempty"`
	// Source is release (the GitHub release tarball) or local (a cri-dockerd
	// binary in Dir).
	Source string `json:"source,omitempty"`
	// Dir holds the cri-dockerd binary for the local source.
	Dir string `json:"dir,omitempty"`
	// SHA256 of the release tarball; required for the release source.
	SHA256 string `json:"sha256,omitempty"`
}

// Node holds host-level settings.
type Node struct {
	// KernelModules are loaded now and on every boot. overlay and
	// br_netfilter are always included.
	KernelModules []string `json:"kernelModules,omitempty"`
	// Sysctls are set now and on every boot. net.bridge.bridge-nf-call-iptables,
	// net.bridge.bridge-nf-call-ip6tables and net.ipv4.ip_forward default to 1.
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// DisableSwap turns swap off now and for good (default true).
	DisableSwap *bool `json:"disableSwap,omitempty"`
	// ShutdownGracePeriod is how long the kubelet delays the machine's
	// shutdown to end its pods gracefully (graceful node shutdown, default
	// 30s; 0s turns it off). systemd-logind's InhibitDelayMaxSec is raised
	// to match, without which the kubelet gets logind's default of 5s.
	ShutdownGracePeriod string `json:"shutdownGracePeriod,omitempty"`
	// ShutdownGracePeriodCriticalPods is the part of ShutdownGracePeriod
	// kept for critical pods, which end last (default 10s).
	ShutdownGracePeriodCriticalPods string `json:"shutdownGracePeriodCriticalPods,omitempty"`
	// SSHHostKeyTypes are the SSH host key types cloud-init makes at first
	// boot (its ssh_genkeytypes): rsa, ecdsa and ed25519. Defaults to ecdsa
	// and ed25519: an RSA-3072 key costs seconds of CPU on the boot's
	// critical path, and every OpenSSH client since 6.5 speaks ed25519. Add
	// rsa for clients that need it. Ignored on Fedora CoreOS, where
	// sshd-keygen makes the keys.
	SSHHostKeyTypes []string `json:"sshHostKeyTypes,omitempty"`
	// SELinux is enforcing, permissive or disabled (EL and Fedora CoreOS
	// only). Defaults to permissive on EL, as kubeadm's docs do, and
	// enforcing on Fedora CoreOS.
	SELinux string `json:"selinux,omitempty"`
	// Firewall is disabled (default), open (open the Kubernetes ports in
	// firewalld or ufw) or unmanaged.
	Firewall Firewall `json:"firewall,omitempty"`
	// Packages are extra distro packages to install.
	Packages []string `json:"packages,omitempty"`
	// Files are extra files to place.
	Files []File `json:"files,omitempty"`
}

// Firewall says how the host firewall is set up.
type Firewall struct {
	// Mode is disabled, open or unmanaged.
	Mode string `json:"mode,omitempty"`
	// Ports to open in open mode, as PORT/PROTO or FROM-TO/PROTO. Defaults
	// to the control-plane and worker ports kubeadm documents.
	Ports []string `json:"ports,omitempty"`
}

// File is an extra file placed in the image.
type File struct {
	// Path is absolute.
	Path string `json:"path"`
	// Mode is octal, default 0644.
	Mode string `json:"mode,omitempty"`
	// Owner is USER:GROUP, default root:root.
	Owner string `json:"owner,omitempty"`
	// Content is the file's content.
	Content string `json:"content,omitempty"`
	// Encoding of Content: empty (plain text) or base64.
	Encoding string `json:"encoding,omitempty"`
}

// Images are pre-loaded into the runtime at bake time.
type Images struct {
	// Preload pulls kubeadm's image list for the Kubernetes version
	// (default true).
	Preload *bool `json:"preload,omitempty"`
	// Extra images to pull as well.
	Extra []Image `json:"extra,omitempty"`
	// Pin protects pre-loaded images from kubelet image garbage collection
	// (default true).
	Pin *bool `json:"pin,omitempty"`
	// Archives are image archives on the machine that runs the bake (an OCI
	// image layout or `docker save` tarball, absolute paths ending in .tar),
	// imported into the runtime's store at bake time, so that no registry
	// is needed (air-gapped images). The images they hold are listed as
	// usual (kubeadm's with preload, others in extra) and are then not
	// pulled: each is still checked against its digest and pinned.
	// containerd and docker load them themselves; for cri-o, skopeo (then
	// part of the image) copies each into containers-storage, digests
	// preserved.
	Archives []string `json:"archives,omitempty"`
}

// Image is a container image reference with an optional expected digest.
type Image struct {
	// Name is a full reference with tag, e.g. registry.k8s.io/pause:3.10.2.
	Name string `json:"name"`
	// Digest, when given, is checked against the pulled image
	// (sha256:<64 hex>) and recorded in the plan.
	Digest string `json:"digest,omitempty"`
}

// Firstboot installs the kubebake-firstboot agent.
type Firstboot struct {
	// Enabled installs and enables the agent and its unit (default true).
	Enabled *bool `json:"enabled,omitempty"`
}

// Hooks are user steps around the built-in steps.
type Hooks struct {
	// Before run, in order, before the built-in steps.
	Before []Hook `json:"before,omitempty"`
	// After run, in order, after the built-in steps and before sealing.
	After []Hook `json:"after,omitempty"`
}

// Hook is a named shell step.
type Hook struct {
	// Name of the step: lower-case letters, digits and '-'.
	Name string `json:"name"`
	// Run is a bash script body; it runs with set -euo pipefail.
	Run string `json:"run"`
}

// Seal generalizes the image.
type Seal struct {
	// Enabled cleans cloud-init state, empties machine-id, removes SSH host
	// keys, package caches, logs and shell history (default true).
	Enabled *bool `json:"enabled,omitempty"`
}

// Bool returns the value of b, or def when b is nil.
func Bool(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}
