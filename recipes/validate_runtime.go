package recipes

import (
	"encoding/json"
	"fmt"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

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
	} else if (known || rt.Source != "") && !oneOf(rt.Source, SourceDistro, SourceUpstream, SourceLocal) {
		v.errorf("runtime.source", "unknown source %q (want distro, upstream or local)", rt.Source)
	} else if rt.Source == SourceLocal {
		v.runtimeLocal(rt, kind)
	} else if known && !d.Supports(rt.Kind, rt.Source) {
		v.errorf("runtime.source", "%s has no %s package for %s", d.Key(), rt.Source, rt.Kind)
	}
	if rt.Source != SourceLocal && rt.Local != (RuntimeLocal{}) {
		v.warnf("runtime.local.dir", "ignored: runtime.source is %s", rt.Source)
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

// runtimeLocal checks the local source: a runtime kubebake can install
// from binaries, a distribution that can take them, an absolute directory.
func (v *validator) runtimeLocal(rt Runtime, kind RuntimeKind) {
	if len(kind.LocalBinaries) == 0 {
		v.errorf("runtime.source", "%s has no local source (only %s does); use distro or upstream", kind.Title, joinWords(localRuntimes(), "and"))
		return
	}
	if v.f.DistroKnown && v.f.Distro.Family == FamilyFCOS {
		v.errorf("runtime.source", "fedora-coreos bakes from Ignition alone and cannot take local binaries: use upstream")
	}
	v.absDir("runtime.local.dir", rt.Local.Dir)
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
