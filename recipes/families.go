package recipes

// FamilyInfo is everything kubebake knows of one distro family: how
// packages are named, pinned and installed and where the family keeps
// kubelet's files. Defaults, validation and the renderer read it; a new
// family is one entry here plus its blocks of the steps in
// recipes/render/templates/steps/family-NAME.sh.tmpl.
type FamilyInfo struct {
	// Name is the family.
	Name Family
	// Ignition means the image provisions itself from Ignition at its
	// first boot (Fedora CoreOS): packages are layered with rpm-ostree, so
	// the prepare, repositories, firewall and packages steps do not apply,
	// files are placed by Ignition, and the plan carries Butane. Otherwise
	// steps install packages with the family's package manager (apt, dnf).
	Ignition bool
	// BasePackages are the tools kubeadm and the steps need.
	BasePackages []string
	// KubeletEnvFile holds KUBELET_EXTRA_ARGS.
	KubeletEnvFile string
	// BinDir receives binaries kubebake installs itself.
	BinDir string
	// PinSeparator joins a package name and version (name=1.2, name-1.2).
	PinSeparator string
	// KubernetesRevision is the package revision pkgs.k8s.io gives its
	// packages in this family (-1.1 for deb).
	KubernetesRevision string
	// RepoFormat is pkgs.k8s.io's and CRI-O's repository format: deb or rpm.
	RepoFormat string
	// SELinux is the default SELinux mode; empty where SELinux does not
	// apply.
	SELinux string
	// ZramSwap means the distro may turn swap on zram on, which the swap
	// step turns off for good.
	ZramSwap bool
	// Caches are the package manager's downloads and lists: the steps
	// write them and the seal step empties them, so a chroot bake keeps
	// them on the build machine (render.Plan.Scratch).
	Caches []string
}

// Pin pins a package to a version in the family's syntax; an empty
// version leaves it unpinned.
func (f FamilyInfo) Pin(name, version string) string {
	if version == "" {
		return name
	}
	return name + f.PinSeparator + version
}

// families is the table of distro families.
func families() []FamilyInfo {
	elBase := []string{"ca-certificates", "curl", "conntrack-tools", "socat", "ethtool", "iproute", "iptables-nft", "kmod", "util-linux", "tar"}
	return []FamilyInfo{
		{
			Name:           FamilyApt,
			BasePackages:   []string{"ca-certificates", "curl", "conntrack", "socat", "ethtool", "iproute2", "iptables", "kmod", "util-linux"},
			KubeletEnvFile: "/etc/default/kubelet", BinDir: "/usr/bin",
			PinSeparator: "=", KubernetesRevision: "-1.1", RepoFormat: "deb",
			Caches: []string{"/var/cache/apt", "/var/lib/apt/lists"},
		},
		{
			Name: FamilyDnf, BasePackages: elBase,
			KubeletEnvFile: "/etc/sysconfig/kubelet", BinDir: "/usr/bin",
			PinSeparator: "-", RepoFormat: "rpm", SELinux: "permissive", ZramSwap: true,
			Caches: []string{"/var/cache/dnf"},
		},
		{
			Name: FamilyFCOS, Ignition: true, BasePackages: elBase,
			KubeletEnvFile: "/etc/sysconfig/kubelet", BinDir: "/usr/local/bin",
			PinSeparator: "-", RepoFormat: "rpm", SELinux: "enforcing", ZramSwap: true,
		},
	}
}

// LookupFamily finds a family in kubebake's table.
func LookupFamily(name Family) (FamilyInfo, bool) {
	for _, f := range families() {
		if f.Name == name {
			return f, true
		}
	}
	return FamilyInfo{}, false
}
