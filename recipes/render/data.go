package render

import (
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/recipes"
)

// data is everything the templates read, derived once from the recipe so
// that templates hold no logic beyond choosing between families.
type data struct {
	R       *recipes.Recipe
	D       recipes.Distro
	F       recipes.FamilyInfo
	Kind    recipes.RuntimeKind
	Family  string
	K8s     k8sData
	Runtime runtimeData

	BinDir           string
	KubeletEnvFile   string
	KubeletDropInDir string
	FirstbootBinary  string
	SysctlFile       string

	BasePackages       []string
	RuntimePackages    []string
	KubernetesPackages []string
	LayerPackages      []string
	RepoKeys           []repoKey
	Binaries           []binary
	LocalBinaries      []string
	CrictlURL          string
	CNIURL             string
	CriDockerd         criDockerdData
	RuntimeDropIn      string

	// EarlyPackages are the runtime's and the CNI plugins' packages when
	// they come from the distro's repositories (no repositories step): the
	// prepare step installs them with the base tools where no service can
	// start (a chroot), one package transaction instead of three.
	EarlyPackages []string

	Sysctls []keyValue
	// Shutdown is the kubelet's graceful node shutdown; zero when off.
	Shutdown     shutdownData
	Mirrors      []mirrorData
	Images       []api.Image
	PinnedImages []string
	// ImageArchives are the input names of images.archives, in order.
	ImageArchives []string
	FirewallPorts []portData
	StepPaths     []string
}

type k8sData struct {
	Version string // v1.36.3
	Plain   string // 1.36.3
	Minor   string // 1.36
}

type runtimeData struct {
	Runtime
	SocketPath    string
	Enable        []string
	Daemons       []recipes.Daemon
	ImportArchive []string
	// LocalBinaries are staged from runtime.local.dir and installed when
	// the runtime comes from there.
	LocalBinaries []string
}

// Local says the runtime comes from runtime.local.dir.
func (rd runtimeData) Local() bool { return len(rd.LocalBinaries) > 0 }

// repoKey is a repository's signing key as the repositories step places
// it: fetched from URL, or copied from the staged Input, to Path, and
// checked against Fingerprint when one is pinned.
type repoKey struct {
	URL         string
	Input       string
	Path        string
	Fingerprint string
	// Source names where the key came from, for messages.
	Source string
}

type binary struct {
	Name        string
	URL         string
	SHA256      string
	Dest        string
	VersionArgs string
}

type criDockerdData struct {
	Local   bool
	Version string
	URL     string
	SHA256  string
}

type keyValue struct {
	Key, Value string
}

type mirrorData struct {
	Registry  string
	Server    string
	Endpoints []mirrorEndpoint
}

type mirrorEndpoint struct {
	URL      string
	Location string
	Insecure bool
}

// shutdownData holds the graceful node shutdown periods, validated.
type shutdownData struct {
	GracePeriod, CriticalPods string
	// Seconds is GracePeriod in seconds, logind's InhibitDelayMaxSec.
	Seconds int
}

type portData struct {
	UFW       string
	Firewalld string
}

// derive computes the template data from the recipe and the facts it was
// loaded with.
func derive(r *recipes.Recipe, f recipes.Facts) (*data, error) {
	if !f.ReleaseKnown || !f.DistroKnown || !f.RuntimeKnown {
		return nil, fmt.Errorf("render: recipe %s was not validated (distro, runtime or Kubernetes release unknown)", r.Metadata.Name)
	}
	v := f.Version
	kind := f.Runtime
	dd := &data{
		R: r, D: f.Distro, F: f.Family, Kind: kind, Family: string(f.Distro.Family),
		K8s:              k8sData{Version: v.String(), Plain: v.Plain(), Minor: v.MinorString()},
		BinDir:           f.Family.BinDir,
		KubeletEnvFile:   f.Family.KubeletEnvFile,
		KubeletDropInDir: "/etc/kubernetes/kubelet.conf.d",
		FirstbootBinary:  "/usr/local/bin/kubebake-firstboot",
		SysctlFile:       "/etc/sysctl.d/99-kubernetes-cri.conf",
	}
	dd.Runtime = runtimeData{
		Runtime: Runtime{
			Kind: r.Runtime.Kind, Source: r.Runtime.Source, Version: r.Runtime.Version,
			Endpoint: kind.Endpoint(), CgroupDriver: "systemd", SandboxImage: r.Runtime.SandboxImage,
			Services: kind.Services,
		},
		SocketPath: kind.Socket, Enable: kind.Services, Daemons: kind.Daemons, ImportArchive: kind.ImportArchive,
	}
	if r.Runtime.Source == recipes.SourceLocal {
		dd.Runtime.LocalBinaries = kind.LocalBinaries
		dd.Runtime.Origin = r.Runtime.Local.Dir
	}
	dd.packages(r)
	dd.artifacts(r)
	dd.sysctls(r)
	if d, err := time.ParseDuration(r.Node.ShutdownGracePeriod); err == nil && d > 0 {
		dd.Shutdown = shutdownData{GracePeriod: r.Node.ShutdownGracePeriod, CriticalPods: r.Node.ShutdownGracePeriodCriticalPods, Seconds: int(d / time.Second)}
	}
	dd.mirrors(r)
	dd.images(r, f.Release)
	dd.firewall(r)
	return dd, nil
}

func (dd *data) packages(r *recipes.Recipe) {
	dd.BasePackages = dd.F.BasePackages
	rt := r.Runtime
	dd.RuntimePackages = dd.Kind.Packages(dd.D, rt.Source, rt.Version, dd.F.Pin)
	if len(r.Images.Archives) > 0 {
		dd.RuntimePackages = append(dd.RuntimePackages, dd.Kind.ImportPackages...)
	}
	if r.Kubernetes.Source == recipes.SourcePackages {
		ver := dd.K8s.Plain + dd.F.KubernetesRevision
		dd.KubernetesPackages = []string{dd.F.Pin("kubelet", ver), dd.F.Pin("kubeadm", ver), dd.F.Pin("kubectl", ver), "cri-tools"}
	}
	if dd.F.Ignition {
		dd.LayerPackages = append(append([]string{}, dd.RuntimePackages...), dd.KubernetesPackages...)
		if r.Kubernetes.CNIPlugins.Source == recipes.SourceDistro {
			dd.LayerPackages = append(dd.LayerPackages, "containernetworking-plugins")
		}
		dd.LayerPackages = append(dd.LayerPackages, r.Node.Packages...)
		dd.RuntimePackages, dd.KubernetesPackages = nil, nil
		return
	}
	// The recipe's extra packages stay in their own step: it comes after
	// the firewall step, whose outcome they may change (ufw, firewalld).
	if r.Kubernetes.Source != recipes.SourcePackages && rt.Source != recipes.SourceUpstream {
		dd.EarlyPackages = append([]string{}, dd.RuntimePackages...)
		if r.Kubernetes.CNIPlugins.Source == recipes.SourceDistro {
			dd.EarlyPackages = append(dd.EarlyPackages, "containernetworking-plugins")
		}
	}
}

func (dd *data) artifacts(r *recipes.Recipe) {
	arch := r.Base.Arch
	k := r.Kubernetes
	switch k.Source {
	case recipes.SourceBinaries:
		for _, name := range []string{"kubeadm", "kubelet", "kubectl"} {
			args := "version --client"
			switch name {
			case "kubeadm":
				args = "version -o short"
			case "kubelet":
				args = "--version"
			}
			dd.Binaries = append(dd.Binaries, binary{
				Name:        name,
				URL:         fmt.Sprintf("%s/%s/bin/linux/%s/%s", strings.TrimSuffix(k.Binaries.URL, "/"), dd.K8s.Version, arch, name),
				SHA256:      k.Binaries.SHA256[name],
				Dest:        path.Join(dd.BinDir, name),
				VersionArgs: args,
			})
		}
		dd.CrictlURL = fmt.Sprintf("%s/%s/crictl-%s-linux-%s.tar.gz",
			strings.TrimSuffix(k.Binaries.CriToolsURL, "/"), k.CrictlVersion, k.CrictlVersion, arch)
	case recipes.SourceLocal:
		dd.LocalBinaries = []string{"kubeadm", "kubelet", "kubectl", "crictl"}
	}
	if k.CNIPlugins.Source == recipes.SourceBinaries {
		dd.CNIURL = fmt.Sprintf("%s/%s/cni-plugins-linux-%s-%s.tgz",
			strings.TrimSuffix(k.CNIPlugins.URL, "/"), k.CNIPlugins.Version, arch, k.CNIPlugins.Version)
	}
	if dd.Kind.CriDockerd {
		cd := r.Runtime.CriDockerd
		ver := strings.TrimPrefix(cd.Version, "v")
		dd.CriDockerd = criDockerdData{
			Local:   cd.Source == recipes.SourceLocal,
			Version: ver,
			URL:     fmt.Sprintf("https://github.com/Mirantis/cri-dockerd/releases/download/v%s/cri-dockerd-%s.%s.tgz", ver, ver, arch),
			SHA256:  cd.SHA256,
		}
		if dd.CriDockerd.SHA256 == "" {
			dd.CriDockerd.SHA256 = "unverified" // cri-dockerd publishes no .sha256 files
		}
	}
	if strings.TrimSpace(r.Runtime.Config) != "" {
		dd.RuntimeDropIn = dd.Kind.ConfigDropIn
	}
	dd.repoKeys(r)
}

// KeysPinned reports whether a repository key's fingerprint is pinned,
// which the repositories step checks with gpg.
func (dd *data) KeysPinned() bool {
	for _, k := range dd.RepoKeys {
		if k.Fingerprint != "" {
			return true
		}
	}
	return false
}

// repoKeys lists the signing keys of every upstream repository in use.
func (dd *data) repoKeys(r *recipes.Recipe) {
	if r.Kubernetes.Source == recipes.SourcePackages {
		if key, staged := k8sRepoKey(r, dd.K8s.Minor, dd.F.RepoFormat); staged {
			dd.RepoKeys = append(dd.RepoKeys, key)
		}
	}
	if dd.F.RepoFormat != "deb" {
		return // dnf and rpm-ostree fetch gpgkey= themselves
	}
	if r.Runtime.Source != recipes.SourceUpstream {
		return
	}
	switch dd.Kind.UpstreamRepo {
	case repoCRIO:
		dd.RepoKeys = append(dd.RepoKeys, repoKey{URL: crioRepoURL(r.Runtime.Version, "deb") + "Release.key", Path: "/etc/apt/keyrings/cri-o-apt-keyring.asc"})
	case repoDocker:
		dd.RepoKeys = append(dd.RepoKeys, repoKey{URL: "https://download.docker.com/linux/" + dd.D.DockerRepo + "/gpg", Path: "/etc/apt/keyrings/docker.asc"})
	}
}

// The upstream repositories a runtime comes from (RuntimeKind.UpstreamRepo).
const (
	repoCRIO   = "cri-o"
	repoDocker = "docker"
)

// k8sRepoURL is the Kubernetes package repository of a minor release in
// pkgs.k8s.io's layout below kubernetes.packages.url; kind is deb or rpm.
func k8sRepoURL(r *recipes.Recipe, minor, kind string) string {
	return strings.TrimSuffix(r.Kubernetes.Packages.URL, "/") + "/core:/stable:/v" + minor + "/" + kind + "/"
}

// k8sOrigin is where the Kubernetes source takes its files from.
func k8sOrigin(r *recipes.Recipe, dd *data) string {
	switch r.Kubernetes.Source {
	case recipes.SourcePackages:
		return k8sRepoURL(r, dd.K8s.Minor, dd.F.RepoFormat)
	case recipes.SourceBinaries:
		return r.Kubernetes.Binaries.URL
	}
	return r.Kubernetes.Local.Dir
}

// k8sKeyInput names the staged kubernetes.packages.key.file.
const k8sKeyInput = "kubernetes-repository-key"

// k8sRepoKey is the Kubernetes repository's signing key: kubernetes.packages.key,
// or the key the repository publishes. staged says whether the repositories
// step places it (apt always; dnf when the key is a file or its fingerprint
// is pinned, else dnf fetches gpgkey= itself).
func k8sRepoKey(r *recipes.Recipe, minor, kind string) (key repoKey, staged bool) {
	k := r.Kubernetes.Packages.Key
	key = repoKey{URL: k.URL, Fingerprint: k.Fingerprint}
	if k.File != "" {
		key.URL, key.Input = "", k8sKeyInput
		key.Source = "kubernetes.packages.key.file " + k.File
	} else if key.URL == "" {
		key.URL = k8sRepoURL(r, minor, kind) + "Release.key"
		if kind == "rpm" {
			key.URL = k8sRepoURL(r, minor, kind) + "repodata/repomd.xml.key"
		}
	}
	if key.Source == "" {
		key.Source = key.URL
	}
	ext := ".asc"
	if strings.HasSuffix(k.File, ".gpg") || strings.HasSuffix(k.URL, ".gpg") {
		ext = ".gpg" // a binary key: apt tells the two formats apart by the name
	}
	key.Path = "/etc/apt/keyrings/kubernetes-apt-keyring" + ext
	if kind == "rpm" {
		key.Path = "/etc/pki/rpm-gpg/kubebake-kubernetes" + ext
	}
	return key, kind == "deb" || k.File != "" || k.Fingerprint != ""
}

func crioRepoURL(version, kind string) string {
	parts := strings.Split(version, ".")
	return "https://download.opensuse.org/repositories/isv:/cri-o:/stable:/v" + parts[0] + "." + parts[1] + "/" + kind + "/"
}

func (dd *data) sysctls(r *recipes.Recipe) {
	keys := make([]string, 0, len(r.Node.Sysctls))
	for k := range r.Node.Sysctls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		dd.Sysctls = append(dd.Sysctls, keyValue{k, r.Node.Sysctls[k]})
	}
}

func (dd *data) mirrors(r *recipes.Recipe) {
	for _, m := range r.Runtime.Mirrors {
		md := mirrorData{Registry: m.Registry, Server: "https://" + m.Registry}
		if m.Registry == "docker.io" {
			md.Server = "https://registry-1.docker.io"
		}
		for _, e := range m.Endpoints {
			u, err := url.Parse(e)
			if err != nil {
				continue // validated before
			}
			md.Endpoints = append(md.Endpoints, mirrorEndpoint{
				URL:      strings.TrimSuffix(e, "/"),
				Location: u.Host + strings.TrimSuffix(u.Path, "/"),
				Insecure: u.Scheme == "http",
			})
		}
		dd.Mirrors = append(dd.Mirrors, md)
	}
}

func (dd *data) images(r *recipes.Recipe, rel recipes.KubernetesRelease) {
	pin := recipes.Bool(r.Images.Pin, true) && dd.Kind.CanPin
	seen := map[string]bool{}
	add := func(name, digest string) {
		if seen[name] {
			return
		}
		seen[name] = true
		dd.Images = append(dd.Images, api.Image{Name: name, Digest: digest, Pinned: pin})
		if pin {
			dd.PinnedImages = append(dd.PinnedImages, name)
		}
	}
	if recipes.Bool(r.Images.Preload, true) {
		for _, name := range rel.KubeadmImages() {
			add(name, "")
		}
		if r.Runtime.SandboxImage != rel.SandboxImage() {
			add(r.Runtime.SandboxImage, "")
		}
	}
	for _, img := range r.Images.Extra {
		add(img.Name, img.Digest)
	}
	for _, a := range r.Images.Archives {
		dd.ImageArchives = append(dd.ImageArchives, archiveInput(a))
	}
}

// archiveInput names the staged input of an image archive.
func archiveInput(hostPath string) string {
	return "image-archive-" + path.Base(hostPath)
}

func (dd *data) firewall(r *recipes.Recipe) {
	if r.Node.Firewall.Mode != "open" {
		return
	}
	for _, p := range r.Node.Firewall.Ports {
		port, proto, _ := strings.Cut(p, "/")
		dd.FirewallPorts = append(dd.FirewallPorts, portData{
			UFW:       strings.ReplaceAll(port, "-", ":") + "/" + proto,
			Firewalld: p,
		})
	}
}
