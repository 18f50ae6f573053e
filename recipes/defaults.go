package recipes

import "time"

// Defaults that do not depend on the distro.
const (
	DefaultArch              = "amd64"
	DefaultBinariesURL       = "https://dl.k8s.io/release"
	DefaultPackagesURL       = "https://pkgs.k8s.io"
	DefaultCriToolsURL       = "https://github.com/kubernetes-sigs/cri-tools/releases/download"
	DefaultCNIPluginsURL     = "https://github.com/containernetworking/plugins/releases/download"
	DefaultCNIPluginsVersion = "v1.7.1"
	DefaultCriDockerdVersion = "0.4.3"
	DefaultFileMode          = "0644"
	DefaultFileOwner         = "root:root"
)

// RequiredKernelModules are always loaded.
func RequiredKernelModules() []string { return []string{"overlay", "br_netfilter"} }

// DefaultSSHHostKeyTypes are the SSH host key types a node makes at first
// boot unless node.sshHostKeyTypes says otherwise: no RSA, whose key
// generation is the slow one.
func DefaultSSHHostKeyTypes() []string { return []string{"ecdsa", "ed25519"} }

// SSHHostKeyTypes are the SSH host key types cloud-init can make.
func SSHHostKeyTypes() []string { return []string{"rsa", "ecdsa", "ed25519"} }

// Graceful node shutdown defaults: the kubelet delays a shutdown by 30s,
// the last 10s of it for critical pods.
const (
	DefaultShutdownGracePeriod             = "30s"
	DefaultShutdownGracePeriodCriticalPods = "10s"
)

// RequiredSysctls are set unless the recipe overrides them.
func RequiredSysctls() map[string]string {
	return map[string]string{
		"net.bridge.bridge-nf-call-iptables":  "1",
		"net.bridge.bridge-nf-call-ip6tables": "1",
		"net.ipv4.ip_forward":                 "1",
	}
}

// DefaultFirewallPorts are the ports kubeadm documents for control-plane and
// worker nodes.
func DefaultFirewallPorts() []string {
	return []string{"6443/tcp", "2379-2380/tcp", "10250/tcp", "10256/tcp", "10257/tcp", "10259/tcp", "30000-32767/tcp"}
}

// SetDefaults fills every field the recipe left empty, from the facts of
// its distro, runtime and Kubernetes release; it parses the defaulted
// Kubernetes version into f once. Distro-dependent defaults are skipped
// when the distro is unknown (validation reports it).
func SetDefaults(r *Recipe, f *Facts) {
	t := true
	setStr := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	setStr(&r.Base.Arch, DefaultArch)

	k := &r.Kubernetes
	setStr(&k.Version, DefaultKubernetesVersion())
	f.setVersion(k.Version)
	if !f.Version.IsZero() {
		k.Version = f.Version.String()
		setStr(&k.CrictlVersion, "v"+f.Version.MinorString()+".0")
	}
	setStr(&k.Source, SourcePackages)
	switch k.Source {
	case SourcePackages:
		setStr(&k.Packages.URL, DefaultPackagesURL)
		k.Packages.Key.Fingerprint = NormalizeFingerprint(k.Packages.Key.Fingerprint)
		setStr(&k.CNIPlugins.Source, SourcePackages)
	case SourceBinaries:
		setStr(&k.Binaries.URL, DefaultBinariesURL)
		setStr(&k.Binaries.CriToolsURL, DefaultCriToolsURL)
		setStr(&k.CNIPlugins.Source, SourceBinaries)
	case SourceLocal:
		setStr(&k.CNIPlugins.Source, SourceDistro)
	}
	if k.CNIPlugins.Source == SourceBinaries {
		setStr(&k.CNIPlugins.Version, DefaultCNIPluginsVersion)
		setStr(&k.CNIPlugins.URL, DefaultCNIPluginsURL)
	}

	rt := &r.Runtime
	switch {
	case f.RuntimeKnown && f.Runtime.UpstreamOnly:
		setStr(&rt.Source, SourceUpstream)
	case f.DistroKnown && f.Distro.Supports(rt.Kind, SourceDistro):
		setStr(&rt.Source, SourceDistro)
	case f.DistroKnown:
		setStr(&rt.Source, SourceUpstream)
	}
	if f.RuntimeKnown && f.Runtime.FollowsKubernetes && !f.Version.IsZero() {
		setStr(&rt.Version, f.Version.MinorString())
	}
	if f.ReleaseKnown {
		setStr(&rt.SandboxImage, f.Release.SandboxImage())
	}
	if f.RuntimeKnown && f.Runtime.CriDockerd {
		setStr(&rt.CriDockerd.Version, DefaultCriDockerdVersion)
		setStr(&rt.CriDockerd.Source, SourceRelease)
	}

	n := &r.Node
	n.KernelModules = union(n.KernelModules, RequiredKernelModules())
	if n.Sysctls == nil {
		n.Sysctls = map[string]string{}
	}
	for key, val := range RequiredSysctls() {
		if _, ok := n.Sysctls[key]; !ok {
			n.Sysctls[key] = val
		}
	}
	if n.DisableSwap == nil {
		n.DisableSwap = &t
	}
	if len(n.SSHHostKeyTypes) == 0 {
		n.SSHHostKeyTypes = DefaultSSHHostKeyTypes()
	}
	setStr(&n.ShutdownGracePeriod, DefaultShutdownGracePeriod)
	if n.ShutdownGracePeriodCriticalPods == "" {
		// 10s for critical pods when that leaves them at most half.
		n.ShutdownGracePeriodCriticalPods = "0s"
		if d, err := time.ParseDuration(n.ShutdownGracePeriod); err == nil && d >= 20*time.Second {
			n.ShutdownGracePeriodCriticalPods = DefaultShutdownGracePeriodCriticalPods
		}
	}
	if f.DistroKnown {
		setStr(&n.SELinux, f.Family.SELinux)
	}
	setStr(&n.Firewall.Mode, "disabled")
	if n.Firewall.Mode == "open" && len(n.Firewall.Ports) == 0 {
		n.Firewall.Ports = DefaultFirewallPorts()
	}
	for i := range n.Files {
		setStr(&n.Files[i].Mode, DefaultFileMode)
		setStr(&n.Files[i].Owner, DefaultFileOwner)
	}

	if r.Images.Preload == nil {
		r.Images.Preload = &t
	}
	if r.Images.Pin == nil {
		r.Images.Pin = &t
	}
	if r.Firstboot.Enabled == nil {
		r.Firstboot.Enabled = &t
	}
	if r.Seal.Enabled == nil {
		r.Seal.Enabled = &t
	}
}

// union returns a followed by the items of b not in a, in order. The
// recipe's own items come first so that their field paths keep their index.
func union(a, b []string) []string {
	out := append([]string{}, a...)
	seen := map[string]bool{}
	for _, s := range a {
		seen[s] = true
	}
	for _, s := range b {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
