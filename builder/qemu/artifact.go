package qemu

import (
	"fmt"
	"os"
)

// Artifact is the image and manifest in the output directory.
type Artifact struct {
	dir, image, manifest string
	state                map[string]any
}

// BuilderId names the builder.
func (a *Artifact) BuilderId() string { return BuilderID } //nolint:revive // Packer's interface name

// Files lists the image and its manifest.
func (a *Artifact) Files() []string { return []string{a.image, a.manifest} }

// Id is the image path.
func (a *Artifact) Id() string { return a.image } //nolint:revive // Packer's interface name

// String describes the artifact.
func (a *Artifact) String() string {
	return fmt.Sprintf("kubebake-qemu image %s (manifest %s)", a.image, a.manifest)
}

// State returns builder state (accelerator).
func (a *Artifact) State(name string) interface{} { return a.state[name] }

// Destroy removes the output directory.
func (a *Artifact) Destroy() error { return os.RemoveAll(a.dir) }
