// Package manifest is OUT/manifest.json, the artifact contract of a bake:
// what was baked, from what and how, and the name of the image's SBOM
// beside it (internal/sbom). `kubebake build` and the Packer builder both
// write it.
package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/recipes/render"
)

// SchemaVersion is the manifest's schemaVersion: an integer, as in an OCI
// image manifest, raised when a field changes meaning or goes away (added
// fields keep it). A manifest without one (0) predates versioning: it has
// no sbom.
const SchemaVersion = 1

// Manifest is OUT/manifest.json: what was baked, from what, and how.
type Manifest struct {
	// SchemaVersion is the manifest format's version (SchemaVersion).
	SchemaVersion     int    `json:"schemaVersion"`
	Name              string `json:"name"`
	Image             string `json:"image"`
	Format            string `json:"format"`
	SHA256            string `json:"sha256"`
	Size              int64  `json:"size"`
	VirtualSize       int64  `json:"virtualSize,omitempty"`
	Recipe            string `json:"recipe"`
	Distro            string `json:"distro"`
	Release           string `json:"release"`
	Arch              string `json:"arch"`
	KubernetesVersion string `json:"kubernetesVersion"`
	// KubernetesSource and KubernetesOrigin say where Kubernetes came
	// from (render.Kubernetes).
	KubernetesSource string `json:"kubernetesSource,omitempty"`
	KubernetesOrigin string `json:"kubernetesOrigin,omitempty"`
	// PlanDigest is the plan's identity (render.Plan.Digest), as the
	// image's image.json records it.
	PlanDigest   string         `json:"planDigest,omitempty"`
	Runtime      render.Runtime `json:"runtime"`
	Images       []api.Image    `json:"images"`
	Base         string         `json:"base,omitempty"`
	BaseSHA256   string         `json:"baseSHA256,omitempty"`
	Mode         string         `json:"mode"`
	BuiltAt      time.Time      `json:"builtAt"`
	BuildSeconds float64        `json:"buildSeconds"`
	Steps        []StepTiming   `json:"steps"`
	// RuntimeImages are the images in the runtime's store when the bake
	// ended, with their IDs and digests, as crictl reported them.
	RuntimeImages []RuntimeImage `json:"runtimeImages,omitempty"`
	// SBOM is the file name, beside the manifest, of the image's SPDX 2.3
	// JSON software bill of materials (internal/sbom): NAME.spdx.json.
	SBOM string `json:"sbom,omitempty"`
	// Compression is how the image file's data is compressed
	// (diskformat.Compression): zlib or zstd (a qcow2's clusters; zstd
	// needs QEMU 5.1 or later to read), deflate (a streamOptimized VMDK:
	// vmdk, ova) or none. Empty in manifests written before it was.
	Compression string `json:"compression,omitempty"`
}

// RuntimeImage is one image in the runtime's store.
type RuntimeImage struct {
	ID          string   `json:"id"`
	RepoTags    []string `json:"repoTags"`
	RepoDigests []string `json:"repoDigests"`
	Size        int64    `json:"size"`
	Pinned      bool     `json:"pinned"`
}

// ParseCrictlImages reads `crictl images -o json`.
func ParseCrictlImages(b []byte) ([]RuntimeImage, error) {
	var out struct {
		Images []struct {
			ID          string   `json:"id"`
			RepoTags    []string `json:"repoTags"`
			RepoDigests []string `json:"repoDigests"`
			Size        string   `json:"size"`
			Pinned      bool     `json:"pinned"`
		} `json:"images"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("crictl images: %w", err)
	}
	imgs := make([]RuntimeImage, 0, len(out.Images))
	for _, i := range out.Images {
		size, _ := strconv.ParseInt(i.Size, 10, 64)
		imgs = append(imgs, RuntimeImage{ID: i.ID, RepoTags: i.RepoTags, RepoDigests: i.RepoDigests, Size: size, Pinned: i.Pinned})
	}
	return imgs, nil
}

// StepTiming is how long one step took.
type StepTiming struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// FileSHA256 hashes a file and returns its size.
func FileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
