package recipes

import (
	"regexp"
	"strings"
)

// fingerprintRE is an OpenPGP primary key fingerprint, normalized: 40 hex
// digits (v4 keys) or 64 (v6 keys), upper case.
var fingerprintRE = regexp.MustCompile(`^([0-9A-F]{40}|[0-9A-F]{64})$`)

// NormalizeFingerprint writes an OpenPGP fingerprint as gpg prints it in
// its machine-readable output: upper-case hex without spaces (people copy
// fingerprints with the spaces gpg shows between groups).
func NormalizeFingerprint(fp string) string {
	return strings.ToUpper(strings.Join(strings.Fields(fp), ""))
}

// packages validates kubernetes.packages, the repository of the packages
// source and its signing key. fcos is true for Fedora CoreOS, whose
// repositories are written by Ignition alone: there no file can be copied
// and no fingerprint checked before rpm-ostree reads the repository.
func (v *validator) packages(fcos bool) {
	pk := v.r.Kubernetes.Packages
	v.url("kubernetes.packages.url", pk.URL)
	key := pk.Key
	if key.URL != "" {
		v.url("kubernetes.packages.key.url", key.URL)
	}
	if key.File != "" {
		switch {
		case key.URL != "":
			v.errorf("kubernetes.packages.key.file", "set url or file, not both")
		case !cleanAbsPath(key.File):
			v.errorf("kubernetes.packages.key.file", "%q must be a clean absolute path of letters, digits and ._+@:=,/-", key.File)
		case fcos:
			v.errorf("kubernetes.packages.key.file", "fedora-coreos bakes from Ignition alone and cannot copy a key file: give the key's url")
		}
	}
	if key.Fingerprint != "" {
		switch {
		case !fingerprintRE.MatchString(key.Fingerprint):
			v.errorf("kubernetes.packages.key.fingerprint", "%q is not an OpenPGP fingerprint (40 or 64 hex digits)", key.Fingerprint)
		case fcos:
			v.errorf("kubernetes.packages.key.fingerprint", "fedora-coreos bakes from Ignition alone, where no fingerprint can be checked before rpm-ostree trusts the key")
		}
	}
	if pk.URL != DefaultPackagesURL && key.URL == "" && key.File == "" && key.Fingerprint == "" {
		v.warnf("kubernetes.packages.key", "the repository %s is trusted with the key it serves itself: pin key.fingerprint, or give key.file", pk.URL)
	}
}
