package main

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/mod/semver"
)

// Version is a release version, vMAJOR.MINOR.PATCH[-PRE].
type Version struct {
	Major, Minor, Patch string
	Pre                 string // "-rc.1", or ""
}

var versionRE = regexp.MustCompile(`^v([0-9]+)\.([0-9]+)\.([0-9]+)(-[0-9A-Za-z.]+)?$`)

// withV returns s with a leading "v": "1.36.3" -> "v1.36.3".
func withV(s string) string {
	if strings.HasPrefix(s, "v") {
		return s
	}
	return "v" + s
}

// ParseVersion parses vMAJOR.MINOR.PATCH with an optional pre-release
// (v1.37.0-rc.1); the leading "v" may be left out. Build metadata (+meta)
// is refused, and so is anything semver refuses (v1.036.0, v1.36.0-rc..1).
func ParseVersion(s string) (Version, bool) {
	s = withV(s)
	m := versionRE.FindStringSubmatch(s)
	if m == nil || !semver.IsValid(s) {
		return Version{}, false
	}
	return Version{Major: m[1], Minor: m[2], Patch: m[3], Pre: m[4]}, true
}

func (v Version) String() string {
	return fmt.Sprintf("v%s.%s.%s%s", v.Major, v.Minor, v.Patch, v.Pre)
}

// Staging is the version of Kubernetes' staging modules (k8s.io/api, ...)
// for Kubernetes v: v1.36.3 -> v0.36.3.
func (v Version) Staging() string {
	return fmt.Sprintf("v0.%s.%s%s", v.Minor, v.Patch, v.Pre)
}

// GitMinor is the minor version Kubernetes stamps into its binaries:
// kube::version::ldflags appends "+" to the minor of a pre-release.
func (v Version) GitMinor() string {
	if v.Pre != "" {
		return v.Minor + "+"
	}
	return v.Minor
}
