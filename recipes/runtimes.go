package recipes

import "sort"

// RuntimeKind is everything kubebake knows of one container runtime kind.
// Defaults, validation, the renderer (its files, packages, the images
// step) and kubebake test's node checks all read this one entry; adding a
// runtime is one entry in runtimeKinds plus its templates in
// recipes/render/templates (the runtime's files and its
// "KIND.pulled"/"KIND.pin" blocks of the images step).
type RuntimeKind struct {
	// Name is the recipe's runtime.kind.
	Name string
	// Title is how messages name it.
	Title string
	// Socket is the CRI socket kubelet, crictl and kubeadm talk to.
	Socket string
	// Services are the systemd units of the runtime, in start order: they
	// are enabled, restarted before images are pulled on a booted
	// machine, and checked active by kubebake test.
	Services []string
	// Daemons are the runtime's processes, started by hand in a chroot
	// (where systemd does not run) to pre-load images, in order.
	Daemons []Daemon
	// UpstreamOnly means no distro packages it: its source is always
	// upstream (CRI-O's own repository).
	UpstreamOnly bool
	// FollowsKubernetes means its version is a Kubernetes minor: it
	// defaults to the recipe's and must equal it (CRI-O).
	FollowsKubernetes bool
	// ConfigFormat is the format of runtime.config: toml or json.
	ConfigFormat string
	// Managed are the runtime.config settings kubebake owns.
	Managed []ManagedKey
	// ConfigDropIn, when set, is where runtime.config is placed as a file
	// of its own; otherwise the renderer merges it into the runtime's
	// configuration.
	ConfigDropIn string
	// ConfigVersion, when set, is the only `version` runtime.config may
	// declare (containerd's config version 2).
	ConfigVersion int64
	// MirrorsDockerHubOnly means only docker.io can have mirrors.
	MirrorsDockerHubOnly bool
	// ImportArchive is the command that imports an image archive (its
	// path follows; for cri-o a function of its images step).
	ImportArchive []string
	// ImportPackages are the distro packages the image needs when it
	// imports image archives, besides the runtime's own.
	ImportPackages []string
	// LocalBinaries are the binaries the local source installs from
	// runtime.local.dir; empty when the runtime has no local source.
	LocalBinaries []string
	// CanPin says whether pre-loaded images can be pinned against
	// kubelet's image garbage collection.
	CanPin bool
	// CriDockerd means the runtime needs cri-dockerd as its CRI shim.
	CriDockerd bool
	// CgroupCheck is the command kubebake test runs in the guest to see the
	// systemd cgroup driver in force, and its description.
	CgroupCheck, CgroupCheckDesc string
	// UpstreamRepo names the upstream package repository the runtime
	// comes from with source upstream: cri-o or docker.
	UpstreamRepo string
	// packages lists the runtime's packages on distro d from source, the
	// first pinned to version where one is given.
	packages func(d Distro, source, version string, pin func(name, version string) string) []string
}

// Daemon is a runtime process started by hand in a chroot.
type Daemon struct {
	// Name names its log file.
	Name string
	// Command is the process and its arguments.
	Command []string
	// Socket, when set, must appear before the next daemon starts.
	Socket string
}

// ManagedKey is a runtime.config setting kubebake owns, and what to use
// instead.
type ManagedKey struct {
	Keys []string
	Use  string
}

// Packages lists the runtime's packages on distro d from source, pinned
// with pin to version when one is given.
func (k RuntimeKind) Packages(d Distro, source, version string, pin func(name, version string) string) []string {
	return k.packages(d, source, version, pin)
}

// Endpoint is the CRI endpoint URL of the socket.
func (k RuntimeKind) Endpoint() string { return "unix://" + k.Socket }

// runtimeKinds is the table of runtimes, one entry each.
func runtimeKinds() []RuntimeKind {
	const containerdSock = "/run/containerd/containerd.sock"
	const cgroupManaged = "the cgroup driver is always systemd"
	const dockerManaged = "use runtime.mirrors; " + cgroupManaged
	return []RuntimeKind{
		{
			Name:         RuntimeContainerd,
			Title:        "containerd",
			Socket:       containerdSock,
			Services:     []string{"containerd.service"},
			Daemons:      []Daemon{{Name: "containerd", Command: []string{"containerd"}}},
			ConfigFormat: "toml", ConfigVersion: 2,
			Managed: []ManagedKey{
				{[]string{"plugins", "io.containerd.grpc.v1.cri", "sandbox_image"}, "use runtime.sandboxImage"},
				{[]string{"plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes", "runc", "options", "SystemdCgroup"}, cgroupManaged},
				{[]string{"plugins", "io.containerd.grpc.v1.cri", "registry", "config_path"}, "use runtime.mirrors"},
			},
			ImportArchive:   []string{"ctr", "--address", containerdSock, "--namespace", "k8s.io", "images", "import"},
			CanPin:          true,
			CgroupCheck:     `containerd config dump | grep -q "SystemdCgroup = true"`,
			CgroupCheckDesc: "containerd uses the systemd cgroup driver",
			UpstreamRepo:    "docker",
			packages: func(_ Distro, source, version string, pin func(string, string) string) []string {
				if source == SourceDistro {
					return []string{pin("containerd", version)}
				}
				return []string{pin("containerd.io", version)}
			},
		},
		{
			Name:              RuntimeCRIO,
			Title:             "CRI-O",
			Socket:            "/var/run/crio/crio.sock",
			Services:          []string{"crio.service"},
			Daemons:           []Daemon{{Name: "crio", Command: []string{"crio"}}},
			UpstreamOnly:      true,
			FollowsKubernetes: true,
			ConfigFormat:      "toml",
			ConfigDropIn:      "/etc/crio/crio.conf.d/99-kubebake-user.conf",
			Managed: []ManagedKey{
				{[]string{"crio", "runtime", "cgroup_manager"}, cgroupManaged},
				{[]string{"crio", "image", "pause_image"}, "use runtime.sandboxImage"},
			},
			ImportArchive:   []string{"kb_crio_import"},
			ImportPackages:  []string{"skopeo"},
			LocalBinaries:   []string{"crio", "pinns"},
			CanPin:          true,
			CgroupCheck:     `crio config 2>/dev/null | grep -q "cgroup_manager = \"systemd\""`,
			CgroupCheckDesc: "CRI-O uses the systemd cgroup driver",
			UpstreamRepo:    "cri-o",
			packages: func(d Distro, source, _ string, _ func(string, string) string) []string {
				if source != SourceLocal {
					return []string{"cri-o"}
				}
				// What CRI-O's own packages bring besides crio and pinns:
				// the monitor, the OCI runtime, /etc/containers/policy.json.
				policy := "containers-common"
				if d.Family == FamilyApt {
					policy = "golang-github-containers-common"
				}
				return []string{"conmon", "crun", policy}
			},
		},
		{
			Name:     RuntimeDocker,
			Title:    "Docker Engine",
			Socket:   "/run/cri-dockerd.sock",
			Services: []string{"containerd.service", "docker.service", "cri-docker.socket", "cri-docker.service"},
			Daemons: []Daemon{
				{Name: "containerd", Command: []string{"containerd"}, Socket: containerdSock},
				{Name: "dockerd", Command: []string{"dockerd", "--containerd=" + containerdSock}, Socket: "/run/docker.sock"},
				{Name: "cri-dockerd", Command: []string{"cri-dockerd", "--container-runtime-endpoint", "unix:///run/cri-dockerd.sock"}},
			},
			ConfigFormat: "json",
			Managed: []ManagedKey{
				{[]string{"exec-opts"}, dockerManaged},
				{[]string{"registry-mirrors"}, dockerManaged},
			},
			MirrorsDockerHubOnly: true,
			ImportArchive:        []string{"docker", "load", "--input"},
			CriDockerd:           true,
			CgroupCheck:          `[ "$(docker info --format "{{.CgroupDriver}}")" = systemd ]`,
			CgroupCheckDesc:      "Docker uses the systemd cgroup driver",
			UpstreamRepo:         "docker",
			packages: func(d Distro, source, version string, pin func(string, string) string) []string {
				if source == SourceDistro {
					out := []string{pin("docker.io", version)}
					if d.DockerCLI != "" {
						out = append(out, pin(d.DockerCLI, version))
					}
					return out
				}
				return []string{pin("docker-ce", version), "docker-ce-cli", "containerd.io"}
			},
		},
	}
}

// LookupRuntime finds a runtime kind in kubebake's table.
func LookupRuntime(name string) (RuntimeKind, bool) {
	for _, k := range runtimeKinds() {
		if k.Name == name {
			return k, true
		}
	}
	return RuntimeKind{}, false
}

// RuntimeNames lists the runtime kinds, sorted.
func RuntimeNames() []string {
	var out []string
	for _, k := range runtimeKinds() {
		out = append(out, k.Name)
	}
	sort.Strings(out)
	return out
}

// localRuntimes lists the runtime kinds that have a local source.
func localRuntimes() []string {
	var out []string
	for _, k := range runtimeKinds() {
		if len(k.LocalBinaries) > 0 {
			out = append(out, k.Name)
		}
	}
	return out
}
