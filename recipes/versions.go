package recipes

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"
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

// Version is a parsed semantic version, v1.36.3 or a pre-release such as
// v1.37.0-rc.1, read by Kubernetes' own version package. The zero Version
// is no version.
type Version struct {
	v *version.Version
}

// ParseVersion parses v1.36.3 or 1.36.3, with an optional pre-release
// (v1.37.0-rc.1); build metadata is refused.
func ParseVersion(s string) (Version, error) {
	v, err := version.ParseSemantic(s)
	if err != nil || v.BuildMetadata() != "" || strings.TrimPrefix(s, "v") != v.String() {
		return Version{}, fmt.Errorf("%q is not a version of the form v1.36.3", s)
	}
	return Version{v: v}, nil
}

// IsZero reports whether v holds no version.
func (v Version) IsZero() bool { return v.v == nil }

// String renders v1.36.3 (v1.37.0-rc.1).
func (v Version) String() string {
	if v.v == nil {
		return ""
	}
	return "v" + v.v.String()
}

// Plain renders 1.36.3 (1.37.0-rc.1), as package versions spell it.
func (v Version) Plain() string { return strings.TrimPrefix(v.String(), "v") }

// MinorString renders 1.36.
func (v Version) MinorString() string {
	if v.v == nil {
		return ""
	}
	return fmt.Sprintf("%d.%d", v.v.Major(), v.v.Minor())
}

// PreRelease is the pre-release part (rc.1), empty for a release.
func (v Version) PreRelease() string {
	if v.v == nil {
		return ""
	}
	return v.v.PreRelease()
}

// sameMinor reports whether v and w share major and minor.
func (v Version) sameMinor(w Version) bool {
	return v.v != nil && w.v != nil && v.v.Major() == w.v.Major() && v.v.Minor() == w.v.Minor()
}

// Equal reports whether v and w are the same version.
func (v Version) Equal(w Version) bool { return v.String() == w.String() }

// ReleaseFor returns what kubebake knows of version v: the exact release,
// or for another patch (or pre-release) of a known minor, that minor's
// image tags with v's own kube-* tags. ok is false for an unknown minor.
func ReleaseFor(v Version) (rel KubernetesRelease, exact bool, ok bool) {
	for _, r := range knownReleases() {
		rv, err := ParseVersion(r.Version)
		if err == nil && rv.sameMinor(v) {
			exact = rv.Equal(v)
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
