package recipes

import "sort"

// Family is a group of distributions that share a package manager and the
// way an image is provisioned.
type Family string

// The distro families kubebake renders for.
const (
	FamilyApt  Family = "apt"
	FamilyDnf  Family = "dnf"
	FamilyFCOS Family = "fcos"
)

// Runtime kinds.
const (
	RuntimeContainerd = "containerd"
	RuntimeCRIO       = "cri-o"
	RuntimeDocker     = "docker"
)

// Runtime sources.
const (
	SourceDistro   = "distro"
	SourceUpstream = "upstream"
)

// Kubernetes and artifact sources.
const (
	SourcePackages = "packages"
	SourceBinaries = "binaries"
	SourceLocal    = "local"
	SourceRelease  = "release"
)

// Distro describes one supported distro release.
type Distro struct {
	// Name and Release identify it, e.g. ubuntu 24.04.
	Name    string
	Release string
	// Family selects the renderer.
	Family Family
	// Codename is the apt suite (noble, trixie); empty for other families.
	Codename string
	// DockerRepo is the path segment of Docker's package repository
	// (ubuntu, debian, centos); empty where Docker ships none.
	DockerRepo string
	// Arches are the architectures the distro's images exist for.
	Arches []string
	// DistroRuntimes lists the runtimes the distro's own repositories carry
	// (source distro).
	DistroRuntimes []string
	// UpstreamRuntimes lists the runtimes an upstream repository provides for
	// it (source upstream; cri-o is always upstream).
	UpstreamRuntimes []string
	// DistroCNI says whether the distro packages containernetworking-plugins.
	DistroCNI bool
	// DockerCLI is the package of the docker command where the distro's
	// docker.io leaves it out (Debian 13 split it into docker-cli, which
	// docker.io only recommends).
	DockerCLI string
}

// Key is "name release".
func (d Distro) Key() string { return d.Name + " " + d.Release }

// Supports reports whether runtime kind can come from source on this distro.
func (d Distro) Supports(kind, source string) bool {
	list := d.UpstreamRuntimes
	if source == SourceDistro {
		list = d.DistroRuntimes
	}
	for _, k := range list {
		if k == kind {
			return true
		}
	}
	return false
}

// Runtimes lists every runtime the distro can carry, from any source.
func (d Distro) Runtimes() []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range append(append([]string{}, d.DistroRuntimes...), d.UpstreamRuntimes...) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

var bothArches = []string{"amd64", "arm64"}

// distros is the table of supported distro releases.
func distros() []Distro {
	apt := func(name, release, codename string) Distro {
		return Distro{
			Name: name, Release: release, Family: FamilyApt, Codename: codename, DockerRepo: name,
			Arches:           bothArches,
			DistroRuntimes:   []string{RuntimeContainerd, RuntimeDocker},
			UpstreamRuntimes: []string{RuntimeContainerd, RuntimeCRIO, RuntimeDocker},
			DistroCNI:        true,
		}
	}
	el := func(name string) Distro {
		return Distro{
			Name: name, Release: "9", Family: FamilyDnf, DockerRepo: "centos",
			Arches:           bothArches,
			UpstreamRuntimes: []string{RuntimeContainerd, RuntimeCRIO, RuntimeDocker},
			DistroCNI:        true,
		}
	}
	return []Distro{
		apt("ubuntu", "22.04", "jammy"),
		apt("ubuntu", "24.04", "noble"),
		apt("debian", "12", "bookworm"),
		func() Distro { d := apt("debian", "13", "trixie"); d.DockerCLI = "docker-cli"; return d }(),
		el("centos-stream"),
		el("rocky"),
		{
			Name: "fedora-coreos", Release: "stable", Family: FamilyFCOS,
			Arches:           bothArches,
			DistroRuntimes:   []string{RuntimeContainerd},
			UpstreamRuntimes: []string{RuntimeCRIO},
			DistroCNI:        true,
		},
	}
}

// LookupDistro finds a distro release in kubebake's table.
func LookupDistro(name, release string) (Distro, bool) {
	for _, d := range distros() {
		if d.Name == name && d.Release == release {
			return d, true
		}
	}
	return Distro{}, false
}

// Distros returns every supported distro release.
func Distros() []Distro { return distros() }

// distroNames lists the distinct distro names, sorted.
func distroNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range distros() {
		if !seen[d.Name] {
			seen[d.Name] = true
			out = append(out, d.Name)
		}
	}
	sort.Strings(out)
	return out
}

// releasesOf lists the releases known for a distro name.
func releasesOf(name string) []string {
	var out []string
	for _, d := range distros() {
		if d.Name == name {
			out = append(out, d.Release)
		}
	}
	return out
}
