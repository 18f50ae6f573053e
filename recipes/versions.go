package recipes

import (
	"fmt"
	"regexp"
	"strconv"
)

// KubernetesRelease is what kubebake knows of one Kubernetes release: the
// image tags kubeadm uses for it (read from kubeadm's constants at that tag).
type KubernetesRelease struct {
	Version string
	Pause   string
	Etcd    string
	CoreDNS string
}

// knownReleases is the newest patch of each supported minor, oldest first.
// Tags come from cmd/kubeadm/app/constants at each tag
// (PauseVersion, SupportedEtcdVersion[minor] or DefaultEtcdVersion,
// CoreDNSVersion).
func knownReleases() []KubernetesRelease {
	return []KubernetesRelease{
		{Version: "v1.32.13", Pause: "3.10", Etcd: "3.5.24-0", CoreDNS: "v1.11.3"},
		{Version: "v1.33.13", Pause: "3.10", Etcd: "3.5.24-0", CoreDNS: "v1.12.0"},
		{Version: "v1.34.4", Pause: "3.10.1", Etcd: "3.6.5-0", CoreDNS: "v1.12.1"},
		{Version: "v1.35.4", Pause: "3.10.1", Etcd: "3.6.6-0", CoreDNS: "v1.13.1"},
		{Version: "v1.36.3", Pause: "3.10.2", Etcd: "3.6.8-0", CoreDNS: "v1.14.2"},
		{Version: "v1.37.1", Pause: "3.10.2", Etcd: "3.7.0-0", CoreDNS: "v1.14.6"},
	}
}

// KnownReleases lists the Kubernetes releases kubebake knows, oldest first.
func KnownReleases() []KubernetesRelease { return knownReleases() }

// DefaultKubernetesVersion is the newest patch release kubebake knows.
func DefaultKubernetesVersion() string {
	r := knownReleases()
	return r[len(r)-1].Version
}

// Version is a parsed vMAJOR.MINOR.PATCH.
type Version struct {
	Major, Minor, Patch int
}

var versionRE = regexp.MustCompile(`^v?(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$`)

// ParseVersion parses v1.36.3 or 1.36.3.
func ParseVersion(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%q is not a version of the form v1.36.3", s)
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	c, _ := strconv.Atoi(m[3])
	return Version{a, b, c}, nil
}

// String renders v1.36.3.
func (v Version) String() string { return fmt.Sprintf("v%d.%d.%d", v.Major, v.Minor, v.Patch) }

// MinorString renders 1.36.
func (v Version) MinorString() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// ReleaseFor returns what kubebake knows of version v: the exact release,
// or for an unknown patch of a known minor, that minor's image tags with the
// patch's own kube-* tags. ok is false for an unknown minor.
func ReleaseFor(v Version) (rel KubernetesRelease, exact bool, ok bool) {
	for _, r := range knownReleases() {
		rv, _ := ParseVersion(r.Version)
		if rv.Major == v.Major && rv.Minor == v.Minor {
			exact = rv == v
			r.Version = v.String()
			return r, exact, true
		}
	}
	return KubernetesRelease{}, false, false
}

// KubeadmImages is the image list `kubeadm config images list` prints for
// this release with the default repository.
func (r KubernetesRelease) KubeadmImages() []string {
	const repo = "registry.k8s.io"
	return []string{
		repo + "/kube-apiserver:" + r.Version,
		repo + "/kube-controller-manager:" + r.Version,
		repo + "/kube-scheduler:" + r.Version,
		repo + "/kube-proxy:" + r.Version,
		repo + "/coredns/coredns:" + r.CoreDNS,
		repo + "/pause:" + r.Pause,
		repo + "/etcd:" + r.Etcd,
	}
}

// SandboxImage is the pause image kubeadm uses for this release.
func (r KubernetesRelease) SandboxImage() string { return "registry.k8s.io/pause:" + r.Pause }
