package recipes

// Facts are what a recipe's own fields select from kubebake's tables,
// looked up once when the recipe is loaded and carried from defaults
// through validation to the renderer: the distro and its family, the
// runtime kind, and the parsed Kubernetes version with what kubebake knows
// of its release. A lookup that failed leaves its known flag false;
// validation reports why.
type Facts struct {
	Distro       Distro
	DistroKnown  bool
	Family       FamilyInfo
	Runtime      RuntimeKind
	RuntimeKnown bool
	// Version is kubernetes.version, parsed; zero when it does not parse,
	// and VersionErr says why.
	Version    Version
	VersionErr error
	// Release is what kubebake knows of Version's minor; ReleaseKnown is
	// false for an unknown minor, ReleaseExact true for a patch release
	// kubebake knows.
	Release                    KubernetesRelease
	ReleaseKnown, ReleaseExact bool
}

// lookupFacts looks up the distro and the runtime kind of r.
func lookupFacts(r *Recipe) Facts {
	var f Facts
	f.Distro, f.DistroKnown = LookupDistro(r.Base.Distro, r.Base.Release)
	if f.DistroKnown {
		f.Family, _ = LookupFamily(f.Distro.Family)
	}
	f.Runtime, f.RuntimeKnown = LookupRuntime(r.Runtime.Kind)
	return f
}

// setVersion parses the (defaulted) Kubernetes version once.
func (f *Facts) setVersion(s string) {
	v, err := ParseVersion(s)
	if err != nil {
		f.VersionErr = err
		return
	}
	f.Version = v
	f.Release, f.ReleaseExact, f.ReleaseKnown = ReleaseFor(v)
}
