// Package api holds what kubebake's programs agree on across a process or
// image boundary: the API version of every kubebake document (Recipe,
// NodeConfig, plan.json) and /etc/kubebake/image.json, which the renderer
// writes into an image and kubebake-firstboot, kubebake test and the Packer
// builder read back. It imports the standard library alone, so the small
// static kubebake-firstboot can use it.
package api

// Version is the apiVersion of every kubebake document.
const Version = "kubebake.dev/v1alpha1"

// Paths in a baked image.
const (
	// ImageInfoPath is where an image records what it was baked with.
	ImageInfoPath = "/etc/kubebake/image.json"
	// RuntimeImagesPath is where the images step records the runtime's
	// store (`crictl images -o json`).
	RuntimeImagesPath = "/etc/kubebake/images.json"
)

// ImageInfo is /etc/kubebake/image.json: what the image was baked with.
type ImageInfo struct {
	Recipe            string `json:"recipe"`
	Distro            string `json:"distro"`
	Release           string `json:"release"`
	Arch              string `json:"arch"`
	KubernetesVersion string `json:"kubernetesVersion"`
	// KubernetesSource is where Kubernetes came from (packages, binaries
	// or local) and KubernetesOrigin the package repository, release base
	// URL or build machine directory it came from.
	KubernetesSource string  `json:"kubernetesSource,omitempty"`
	KubernetesOrigin string  `json:"kubernetesOrigin,omitempty"`
	Runtime          string  `json:"runtime"`
	CRISocket        string  `json:"criSocket"`
	CgroupDriver     string  `json:"cgroupDriver"`
	SandboxImage     string  `json:"sandboxImage"`
	Images           []Image `json:"images"`
	// PlanDigest identifies the plan the image was baked from
	// ("sha256:..."); empty in images baked before it was recorded.
	PlanDigest string `json:"planDigest,omitempty"`
}

// Image is an image pre-loaded at bake time.
type Image struct {
	Name   string `json:"name"`
	Digest string `json:"digest,omitempty"`
	Pinned bool   `json:"pinned"`
}
