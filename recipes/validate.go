package recipes

import (
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Alphabets for every value that reaches a shell script or a config file
// unquoted by its consumer. Rendered scripts quote values as well.
var (
	nameRE       = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$`)
	hookNameRE   = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?$`)
	moduleRE     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	sysctlKeyRE  = regexp.MustCompile(`^[A-Za-z0-9_-]+([./][A-Za-z0-9_-]+)+$`)
	sysctlValRE  = regexp.MustCompile(`^[A-Za-z0-9_.:,/+][A-Za-z0-9 _.:,/+-]{0,255}$`)
	packageRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+._:~=*-]{0,127}$`)
	pkgVersionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+~:_*-]{0,127}$`)
	crioMinorRE  = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?$`)
	hostRE       = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$`)
	sha256RE     = regexp.MustCompile(`^[a-f0-9]{64}$`)
	digestRE     = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	modeRE       = regexp.MustCompile(`^0?[0-7]{3}$|^[0-7]{4}$`)
	ownerRE      = regexp.MustCompile(`^([a-z_][a-z0-9_-]{0,31}|[0-9]{1,10})(:([a-z_][a-z0-9_-]{0,31}|[0-9]{1,10}))?$`)
	portRE       = regexp.MustCompile(`^([0-9]{1,5})(-([0-9]{1,5}))?/(tcp|udp|sctp)$`)
	pathCharRE   = regexp.MustCompile(`^/[A-Za-z0-9._+@:=,/-]*$`)
	imageRefRE   = regexp.MustCompile(`^([a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?/)?` +
		`[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*` +
		`(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)
)

// Validate checks a recipe defaulted by SetDefaults with the same facts
// and reports every problem with its field path.
func Validate(r *Recipe, f Facts) Report {
	v := validator{r: r, f: f}
	v.header()
	v.base()
	v.kubernetes()
	v.runtime()
	v.node()
	v.images()
	v.hooks()
	return v.rep
}

type validator struct {
	r   *Recipe
	f   Facts
	rep Report
}

func (v *validator) errorf(p, f string, a ...any) { v.rep.Errorf(p, f, a...) }
func (v *validator) warnf(p, f string, a ...any)  { v.rep.Warnf(p, f, a...) }

func oneOf(s string, allowed ...string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

// joinWords joins a, b and c as "a, b CONJ c".
func joinWords(words []string, conj string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + conj + " " + words[len(words)-1]
}

// isSemver reports whether s is a version such as v1.7.1 or 0.4.3.
func isSemver(s string) bool {
	_, err := ParseVersion(s)
	return err == nil
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func (v *validator) header() {
	if v.r.APIVersion != APIVersion {
		v.errorf("apiVersion", "must be %q, got %q", APIVersion, v.r.APIVersion)
	}
	if v.r.Kind != KindRecipe {
		v.errorf("kind", "must be %q, got %q", KindRecipe, v.r.Kind)
	}
	if !nameRE.MatchString(v.r.Metadata.Name) {
		v.errorf("metadata.name", "%q must be lower-case letters, digits, '.' and '-', at most 63 characters", v.r.Metadata.Name)
	}
}

func (v *validator) base() {
	b := v.r.Base
	if !oneOf(b.Distro, distroNames()...) {
		v.errorf("base.distro", "unknown distro %q (want one of %s)", b.Distro, quoteList(distroNames()))
		return
	}
	if !v.f.DistroKnown {
		v.errorf("base.release", "unknown release %q of %s (want one of %s)", b.Release, b.Distro, quoteList(releasesOf(b.Distro)))
		return
	}
	d := v.f.Distro
	if !oneOf(b.Arch, d.Arches...) {
		v.errorf("base.arch", "unsupported architecture %q for %s (want one of %s)", b.Arch, d.Key(), quoteList(d.Arches))
	}
}

func (v *validator) kubernetes() {
	k := v.r.Kubernetes
	d, known := v.f.Distro, v.f.DistroKnown
	kv := v.f.Version
	if v.f.VersionErr != nil {
		v.errorf("kubernetes.version", "%v", v.f.VersionErr)
	} else if !v.f.ReleaseKnown {
		var minors []string
		for _, r := range knownReleases() {
			rv, _ := ParseVersion(r.Version)
			minors = append(minors, rv.MinorString())
		}
		v.errorf("kubernetes.version", "Kubernetes %s is not supported (supported minors: %s)", kv.MinorString(), strings.Join(minors, ", "))
	} else if kv.PreRelease() != "" && k.Source == SourcePackages {
		v.errorf("kubernetes.version", "%s is a pre-release: pkgs.k8s.io has no packages of it; use kubernetes.source binaries or local", kv)
	} else if !v.f.ReleaseExact {
		v.warnf("kubernetes.version", "%s is not a patch release kubebake knows; image tags of %s are assumed", kv, kv.MinorString())
	}
	if !oneOf(k.Source, SourcePackages, SourceBinaries, SourceLocal) {
		v.errorf("kubernetes.source", "unknown source %q (want packages, binaries or local)", k.Source)
	}
	if k.Source == SourcePackages {
		v.packages(known && d.Family == FamilyFCOS)
	} else if k.Packages != (Packages{}) {
		v.warnf("kubernetes.packages", "ignored: kubernetes.source is %s", k.Source)
	}
	if k.Source == SourceBinaries {
		v.url("kubernetes.binaries.url", k.Binaries.URL)
		v.url("kubernetes.binaries.criToolsURL", k.Binaries.CriToolsURL)
		keys := make([]string, 0, len(k.Binaries.SHA256))
		for name := range k.Binaries.SHA256 {
			keys = append(keys, name)
		}
		sort.Strings(keys)
		for _, name := range keys {
			p := "kubernetes.binaries.sha256[" + name + "]"
			if !oneOf(name, "kubeadm", "kubelet", "kubectl") {
				v.errorf(p, "unknown binary %q (want kubeadm, kubelet or kubectl)", name)
			}
			if !sha256RE.MatchString(k.Binaries.SHA256[name]) {
				v.errorf(p, "must be 64 lower-case hex digits")
			}
		}
	} else if len(k.Binaries.SHA256) > 0 || k.Binaries.URL != "" || k.Binaries.CriToolsURL != "" {
		v.warnf("kubernetes.binaries", "ignored: kubernetes.source is %s", k.Source)
	}
	if k.Source == SourceLocal {
		v.absDir("kubernetes.local.dir", k.Local.Dir)
		if known && d.Family == FamilyFCOS {
			v.errorf("kubernetes.source", "fedora-coreos bakes from Ignition alone and cannot take local binaries: use binaries or packages")
		}
	} else if k.Local.Dir != "" {
		v.warnf("kubernetes.local.dir", "ignored: kubernetes.source is %s", k.Source)
	}
	if k.CrictlVersion != "" && !isSemver(k.CrictlVersion) {
		v.errorf("kubernetes.crictlVersion", "%q is not a version of the form v1.36.0", k.CrictlVersion)
	}
	c := k.CNIPlugins
	switch c.Source {
	case SourcePackages:
		if k.Source != SourcePackages {
			v.errorf("kubernetes.cniPlugins.source", "packages (kubernetes-cni) needs kubernetes.source packages; use binaries or distro")
		}
	case SourceBinaries:
		if !isSemver(c.Version) {
			v.errorf("kubernetes.cniPlugins.version", "%q is not a version of the form v1.7.1", c.Version)
		}
		v.url("kubernetes.cniPlugins.url", c.URL)
	case SourceDistro:
		if known && !d.DistroCNI {
			v.errorf("kubernetes.cniPlugins.source", "%s packages no CNI plugins", d.Key())
		}
	default:
		v.errorf("kubernetes.cniPlugins.source", "unknown source %q (want packages, binaries or distro)", c.Source)
	}
	if c.Source != SourceBinaries && c.URL != "" {
		v.warnf("kubernetes.cniPlugins.url", "ignored: kubernetes.cniPlugins.source is %s", c.Source)
	}
}

func (v *validator) url(p, s string) {
	u, err := url.Parse(s)
	switch {
	case s == "":
		v.errorf(p, "a URL is needed")
	case err != nil:
		v.errorf(p, "%q is not a URL: %v", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		v.errorf(p, "%q is not an http or https URL", s)
	case u.Host == "" || !hostRE.MatchString(u.Host):
		v.errorf(p, "%q has no valid host", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || !pathCharRE.MatchString("/"+strings.TrimPrefix(u.EscapedPath(), "/")):
		v.errorf(p, "%q may hold only a scheme, host and path", s)
	case u.Scheme == "http":
		v.warnf(p, "%q is plain http", s)
	}
}

// cleanAbsPath reports whether s is a clean absolute path of letters,
// digits and ._+@:=,/- (a file on the machine that runs the bake).
func cleanAbsPath(s string) bool {
	return path.IsAbs(s) && pathCharRE.MatchString(s) && path.Clean(s) == s
}

func (v *validator) absDir(p, dir string) {
	switch {
	case dir == "":
		v.errorf(p, "a directory is needed")
	case !path.IsAbs(dir):
		v.errorf(p, "%q is a relative path; it must be absolute", dir)
	case !pathCharRE.MatchString(dir) || path.Clean(dir) != dir:
		v.errorf(p, "%q must be a clean absolute path of letters, digits and ._+@:=,/-", dir)
	}
}
