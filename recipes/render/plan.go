// Package render turns a validated recipe into a plan: the files an image
// holds and the ordered, idempotent steps that place them, per distro
// family, or a Butane/Ignition config for Fedora CoreOS. Load is the one
// road from a recipe reference plus overlays to a plan, for every caller;
// Render, the pure step, does no I/O; Write puts a plan on disk.
//
// Templates are embedded: templates/steps (one bash script per step) and
// templates/files. A runtime's own files are rendered by its entry in
// runtimeFileSets, and its blocks of the images step are the templates
// "KIND.pulled" and "KIND.pin" in templates/steps/runtime-KIND.sh.tmpl,
// chosen by name (include), so no template branches per runtime; a distro
// family's blocks likewise ("FAMILY.install", "FAMILY.clean", ... in
// templates/steps/family-FAMILY.sh.tmpl).
package render

import (
	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/recipes"
)

// Stage is where an applier stages the plan on the target by default; step
// scripts read KUBEBAKE_STAGE and fall back to it.
const Stage = "/var/tmp/kubebake"

// Plan is everything needed to bake one image.
type Plan struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Recipe     string         `json:"recipe"`
	Family     recipes.Family `json:"family"`
	Base       recipes.Base   `json:"base"`
	Kubernetes Kubernetes     `json:"kubernetes"`
	Runtime    Runtime        `json:"runtime"`
	// Images are pre-loaded at bake time.
	Images []api.Image `json:"images"`
	// Files are placed in the image; their content is under rootfs/ in a
	// written plan.
	Files []File `json:"files"`
	// Steps run in order on the target.
	Steps []Step `json:"steps"`
	// Inputs are files the applier must stage from the build host.
	Inputs []Input `json:"inputs"`
	// Packages are what the steps install from package repositories, each
	// once, in the order the steps first ask for them, as the package
	// manager is asked (a pinned one as kubelet=1.36.3-1.1).
	Packages []string `json:"packages,omitempty"`
	// Scratch are directories that the steps fill and the seal step
	// empties (package downloads and lists). An applier that can keep
	// their writes off the image may: the chroot mounts a directory of the
	// build machine there while the steps run, and puts back what they
	// left.
	Scratch []string `json:"scratch,omitempty"`
	// Warnings from validation, kept with the plan.
	Warnings []string `json:"warnings,omitempty"`
	// Butane and Ignition are set for the fcos family.
	Butane   []byte `json:"-"`
	Ignition []byte `json:"-"`
}

// Kubernetes is what the plan installs of Kubernetes.
type Kubernetes struct {
	Version string `json:"version"`
	Source  string `json:"source"`
	// Origin is where the source takes Kubernetes from: the package
	// repository, the release base URL, or the local directory.
	Origin        string `json:"origin"`
	CrictlVersion string `json:"crictlVersion"`
	CNIPlugins    string `json:"cniPlugins"`
}

// Runtime is the container runtime the plan installs.
type Runtime struct {
	Kind         string   `json:"kind"`
	Source       string   `json:"source"`
	Version      string   `json:"version,omitempty"`
	Endpoint     string   `json:"endpoint"`
	CgroupDriver string   `json:"cgroupDriver"`
	SandboxImage string   `json:"sandboxImage"`
	Services     []string `json:"services"`
	// Origin is where a local runtime's binaries came from
	// (runtime.local.dir); empty for packages.
	Origin string `json:"origin,omitempty"`
}

// File is a file placed in the image.
type File struct {
	Path    string `json:"path"`
	Mode    string `json:"mode"`
	Owner   string `json:"owner"`
	Group   string `json:"group"`
	Size    int    `json:"size"`
	SHA256  string `json:"sha256"`
	Content []byte `json:"-"`
}

// Step is one named, idempotent step.
type Step struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Script is the path of the script in a written plan (steps/NN-name.sh).
	Script string `json:"script"`
	// Files are the paths of the plan files this step places.
	Files []string `json:"files,omitempty"`
	// Body is the bash script.
	Body []byte `json:"-"`
}

// Input is a file the applier copies from the build host to
// $KUBEBAKE_STAGE/inputs/NAME before the steps run.
type Input struct {
	Name string `json:"name"`
	// HostPath is where it is on the build host; empty for artifacts the
	// applier supplies itself (the kubebake-firstboot binary for the
	// target's architecture).
	HostPath string `json:"hostPath,omitempty"`
	Mode     string `json:"mode"`
}
