package recipes

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
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
	if _, err := ParseVersion(k.Version); err != nil {
		v.errorf("kubernetes.version", "%v", err)
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
	if k.Source == SourceBinaries {
		v.url("kubernetes.binaries.url", k.Binaries.URL)
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
	} else if len(k.Binaries.SHA256) > 0 || k.Binaries.URL != "" {
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
	case SourceDistro:
		if known && !d.DistroCNI {
			v.errorf("kubernetes.cniPlugins.source", "%s packages no CNI plugins", d.Key())
		}
	default:
		v.errorf("kubernetes.cniPlugins.source", "unknown source %q (want packages, binaries or distro)", c.Source)
	}
}

func (v *validator) runtime() {
	rt := v.r.Runtime
	d, known := v.f.Distro, v.f.DistroKnown
	kind := v.f.Runtime
	if !v.f.RuntimeKnown {
		v.errorf("runtime.kind", "unknown runtime %q (want %s)", rt.Kind, joinWords(RuntimeNames(), "or"))
		return
	}
	if known && !oneOf(rt.Kind, d.Runtimes()...) {
		v.errorf("runtime.kind", "%s cannot carry %s (it carries %s)", d.Key(), rt.Kind, strings.Join(d.Runtimes(), ", "))
	} else if (known || rt.Source != "") && !oneOf(rt.Source, SourceDistro, SourceUpstream) {
		v.errorf("runtime.source", "unknown source %q (want distro or upstream)", rt.Source)
	} else if known && !d.Supports(rt.Kind, rt.Source) {
		v.errorf("runtime.source", "%s has no %s package for %s", d.Key(), rt.Source, rt.Kind)
	}
	if kind.FollowsKubernetes {
		if m := crioMinorRE.FindStringSubmatch(rt.Version); m == nil {
			v.errorf("runtime.version", "%q is not a CRI-O version such as 1.36", rt.Version)
		} else if v.f.ReleaseKnown && m[1]+"."+m[2] != v.f.Version.MinorString() {
			v.errorf("runtime.version", "CRI-O minor %s.%s must equal the Kubernetes minor %s", m[1], m[2], v.f.Version.MinorString())
		}
	} else if rt.Version != "" && !pkgVersionRE.MatchString(rt.Version) {
		v.errorf("runtime.version", "%q is not a package version", rt.Version)
	}
	if rt.SandboxImage != "" && !imageRefRE.MatchString(rt.SandboxImage) {
		v.errorf("runtime.sandboxImage", "%q is not an image reference", rt.SandboxImage)
	}
	seen := map[string]bool{}
	for i, m := range rt.Mirrors {
		p := fmt.Sprintf("runtime.mirrors[%d]", i)
		if !hostRE.MatchString(m.Registry) {
			v.errorf(p+".registry", "%q is not a registry host such as docker.io", m.Registry)
		} else if seen[m.Registry] {
			v.errorf(p+".registry", "registry %s is listed twice", m.Registry)
		}
		seen[m.Registry] = true
		if len(m.Endpoints) == 0 {
			v.errorf(p+".endpoints", "at least one mirror URL is needed")
		}
		for j, e := range m.Endpoints {
			v.url(fmt.Sprintf("%s.endpoints[%d]", p, j), e)
		}
		if kind.MirrorsDockerHubOnly && m.Registry != "docker.io" {
			v.warnf(p+".registry", "Docker Engine mirrors only docker.io; the mirror for %s is ignored", m.Registry)
		}
	}
	v.runtimeConfig(rt, kind)
	if kind.CriDockerd {
		cd := rt.CriDockerd
		if !isSemver(cd.Version) {
			v.errorf("runtime.criDockerd.version", "%q is not a version such as 0.4.3", cd.Version)
		}
		switch cd.Source {
		case SourceRelease:
			if cd.SHA256 == "" {
				v.warnf("runtime.criDockerd.sha256", "not set: the cri-dockerd download cannot be verified")
			} else if !sha256RE.MatchString(cd.SHA256) {
				v.errorf("runtime.criDockerd.sha256", "must be 64 lower-case hex digits")
			}
		case SourceLocal:
			v.absDir("runtime.criDockerd.dir", cd.Dir)
		default:
			v.errorf("runtime.criDockerd.source", "unknown source %q (want release or local)", cd.Source)
		}
	} else if rt.CriDockerd != (CriDockerd{}) {
		v.warnf("runtime.criDockerd", "ignored: runtime.kind is %s", rt.Kind)
	}
}

// dig reports whether keys name a value in nested tables.
func dig(m map[string]any, keys ...string) bool {
	var cur any = m
	for _, k := range keys {
		t, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = t[k]; !ok {
			return false
		}
	}
	return true
}

func (v *validator) runtimeConfig(rt Runtime, kind RuntimeKind) {
	if strings.TrimSpace(rt.Config) == "" {
		return
	}
	switch kind.ConfigFormat {
	case "toml":
		var m map[string]any
		if err := toml.Unmarshal([]byte(rt.Config), &m); err != nil {
			v.errorf("runtime.config", "not valid TOML: %v", err)
			return
		}
		if ver, ok := m["version"]; ok && kind.ConfigVersion != 0 && ver != kind.ConfigVersion {
			v.errorf("runtime.config", "version = %v: kubebake merges runtime.config into a version %d %s config; write version %d keys",
				ver, kind.ConfigVersion, kind.Name, kind.ConfigVersion)
		}
		for _, mk := range kind.Managed {
			if dig(m, mk.Keys...) {
				v.errorf("runtime.config", "sets %s, which kubebake manages (%s)", strings.Join(mk.Keys, "."), mk.Use)
			}
		}
	case "json":
		var m map[string]any
		if err := json.Unmarshal([]byte(rt.Config), &m); err != nil {
			v.errorf("runtime.config", "not a JSON object: %v", err)
			return
		}
		for _, mk := range kind.Managed {
			if dig(m, mk.Keys...) {
				v.errorf("runtime.config", "sets %q, which kubebake manages (%s)", strings.Join(mk.Keys, "."), mk.Use)
			}
		}
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

func (v *validator) node() {
	n := v.r.Node
	d, known := v.f.Distro, v.f.DistroKnown
	for i, m := range n.KernelModules {
		if !moduleRE.MatchString(m) {
			v.errorf(fmt.Sprintf("node.kernelModules[%d]", i), "%q is not a module name (letters, digits, '_' and '-')", m)
		}
	}
	keys := make([]string, 0, len(n.Sysctls))
	for k := range n.Sysctls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	required := RequiredSysctls()
	for _, k := range keys {
		p := "node.sysctls[" + k + "]"
		val := n.Sysctls[k]
		if !sysctlKeyRE.MatchString(k) {
			v.errorf(p, "%q is not a sysctl key (letters, digits, '_' and '-' between '.' or '/')", k)
		}
		if !sysctlValRE.MatchString(val) {
			v.errorf(p, "%q is not a sysctl value (letters, digits, spaces and _.:,/+-)", val)
		} else if want, ok := required[k]; ok && val != want {
			v.errorf(p, "must be %s: kubeadm's preflight checks require it", want)
		}
	}
	if n.SELinux != "" {
		if known && v.f.Family.SELinux == "" {
			v.errorf("node.selinux", "applies to EL and Fedora CoreOS only, not %s", d.Key())
		} else if !oneOf(n.SELinux, "enforcing", "permissive", "disabled") {
			v.errorf("node.selinux", "unknown mode %q (want enforcing, permissive or disabled)", n.SELinux)
		}
	}
	switch n.Firewall.Mode {
	case "disabled", "unmanaged":
		if len(n.Firewall.Ports) > 0 {
			v.warnf("node.firewall.ports", "ignored: node.firewall.mode is %s", n.Firewall.Mode)
		}
	case "open":
		for i, p := range n.Firewall.Ports {
			v.port(fmt.Sprintf("node.firewall.ports[%d]", i), p)
		}
	default:
		v.errorf("node.firewall.mode", "unknown mode %q (want disabled, open or unmanaged)", n.Firewall.Mode)
	}
	for i, p := range n.Packages {
		if !packageRE.MatchString(p) {
			v.errorf(fmt.Sprintf("node.packages[%d]", i), "%q is not a package name", p)
		}
	}
	paths := map[string]int{}
	for i, f := range n.Files {
		p := fmt.Sprintf("node.files[%d]", i)
		switch {
		case !path.IsAbs(f.Path):
			v.errorf(p+".path", "%q is a relative path; it must be absolute", f.Path)
		case path.Clean(f.Path) != f.Path || f.Path == "/":
			v.errorf(p+".path", "%q must be a clean absolute file path", f.Path)
		case !pathCharRE.MatchString(f.Path):
			v.errorf(p+".path", "%q may hold only letters, digits and ._+@:=,/-", f.Path)
		default:
			if j, dup := paths[f.Path]; dup {
				v.errorf(p+".path", "%s is also placed by node.files[%d]", f.Path, j)
			}
			paths[f.Path] = i
		}
		if !modeRE.MatchString(f.Mode) {
			v.errorf(p+".mode", "%q is not an octal mode such as 0644", f.Mode)
		}
		if !ownerRE.MatchString(f.Owner) {
			v.errorf(p+".owner", "%q is not USER:GROUP", f.Owner)
		}
		switch f.Encoding {
		case "":
		case "base64":
			if _, err := base64.StdEncoding.DecodeString(f.Content); err != nil {
				v.errorf(p+".content", "not valid base64: %v", err)
			}
		default:
			v.errorf(p+".encoding", "unknown encoding %q (want base64 or nothing)", f.Encoding)
		}
	}
}

func (v *validator) port(p, s string) {
	m := portRE.FindStringSubmatch(s)
	if m == nil {
		v.errorf(p, "%q is not PORT/PROTO or FROM-TO/PROTO", s)
		return
	}
	lo, _ := strconv.Atoi(m[1])
	hi := lo
	if m[3] != "" {
		hi, _ = strconv.Atoi(m[3])
	}
	if lo < 1 || hi > 65535 || hi < lo {
		v.errorf(p, "%q is not a port range within 1-65535", s)
	}
}

func (v *validator) images() {
	for i, img := range v.r.Images.Extra {
		p := fmt.Sprintf("images.extra[%d]", i)
		switch {
		case !imageRefRE.MatchString(img.Name):
			v.errorf(p+".name", "%q is not an image reference", img.Name)
		case !strings.Contains(img.Name[strings.LastIndex(img.Name, "/")+1:], ":") && !strings.Contains(img.Name, "@"):
			v.errorf(p+".name", "%q needs a tag: an untagged image is pulled as :latest and drifts", img.Name)
		}
		if img.Digest != "" && !digestRE.MatchString(img.Digest) {
			v.errorf(p+".digest", "%q is not sha256:<64 hex digits>", img.Digest)
		}
	}
	seen := map[string]int{}
	for i, a := range v.r.Images.Archives {
		p := fmt.Sprintf("images.archives[%d]", i)
		switch {
		case !path.IsAbs(a) || !pathCharRE.MatchString(a) || path.Clean(a) != a:
			v.errorf(p, "%q must be a clean absolute path of letters, digits and ._+@:=,/-", a)
		case !strings.HasSuffix(a, ".tar"):
			v.errorf(p, "%q must be a .tar image archive (an OCI image layout or docker save tarball)", a)
		}
		if j, ok := seen[path.Base(a)]; ok {
			v.errorf(p, "%q has the same file name as images.archives[%d]", a, j)
		}
		seen[path.Base(a)] = i
	}
	if len(v.r.Images.Archives) > 0 && v.f.RuntimeKnown && len(v.f.Runtime.ImportArchive) == 0 {
		v.errorf("images.archives", "image archives are imported for %s; %s is not supported yet", joinWords(archiveRuntimes(), "and"), v.f.Runtime.Title)
	}
	if v.f.RuntimeKnown && !v.f.Runtime.CanPin && Bool(v.r.Images.Pin, true) &&
		(Bool(v.r.Images.Preload, true) || len(v.r.Images.Extra) > 0) {
		v.warnf("images.pin", "cri-dockerd cannot pin images: kubelet image garbage collection may remove pre-loaded images under disk pressure")
	}
}

func (v *validator) hooks() {
	seen := map[string]string{}
	check := func(list []Hook, where string) {
		for i, h := range list {
			p := fmt.Sprintf("hooks.%s[%d]", where, i)
			if !hookNameRE.MatchString(h.Name) {
				v.errorf(p+".name", "%q must be lower-case letters, digits and '-'", h.Name)
			} else if prev, dup := seen[h.Name]; dup {
				v.errorf(p+".name", "%q is also the name of %s", h.Name, prev)
			}
			seen[h.Name] = p
			if strings.TrimSpace(h.Run) == "" {
				v.errorf(p+".run", "a hook needs a script")
			}
		}
	}
	check(v.r.Hooks.Before, "before")
	check(v.r.Hooks.After, "after")
}
