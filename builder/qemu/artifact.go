package qemu

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/kubebake/kubebake/internal/apply"
	"github.com/kubebake/kubebake/internal/manifest"
)

// Artifact is the image, its manifest and its SBOM in the output
// directory.
type Artifact struct {
	dir, image, manifest string
	// sbom is the SBOM's path; empty when none was written (an Ignition
	// build, or a guest without the kubebake provisioner).
	sbom  string
	state map[string]any
	// m is the manifest written beside the image: what HCP Packer and
	// generated_data say of the image.
	m manifest.Manifest
}

// GeneratedVars are the build variables the builder sets (build.ImagePath
// and so on, in post-processors), and apply.StageDiskVar, the stage disk
// the provisioners see while the machine runs.
func GeneratedVars() []string {
	return []string{"ImagePath", "ImageSHA256", "ManifestPath", "Recipe", "KubernetesVersion", "Runtime", "PlanDigest", apply.StageDiskVar}
}

// generatedData is generated_data: each of GeneratedVars. The stage disk
// is gone once the build is over: post-processors see it empty.
func (a *Artifact) generatedData() map[string]any {
	return map[string]any{
		"ImagePath": a.image, "ImageSHA256": a.m.SHA256, "ManifestPath": a.manifest,
		"Recipe": a.m.Recipe, "KubernetesVersion": a.m.KubernetesVersion, "Runtime": a.m.Runtime.Kind,
		"PlanDigest": a.m.PlanDigest, apply.StageDiskVar: "",
	}
}

// registryImage is what an hcp_packer_registry block records of the image:
// its file as the ID in its output directory as the region, the source
// image, and the recipe, Kubernetes version, runtime, digests and plan
// digest as labels.
func (a *Artifact) registryImage() (*registryimage.Image, error) {
	labels := map[string]any{
		"recipe": a.m.Recipe, "kubernetes_version": a.m.KubernetesVersion, "runtime": a.m.Runtime.Kind,
		"distro": strings.TrimSpace(a.m.Distro + " " + a.m.Release), "arch": a.m.Arch,
		"format": a.m.Format, "sha256": a.m.SHA256, "manifest": a.manifest, "plan_digest": a.m.PlanDigest,
	}
	for k, v := range labels {
		if v == "" {
			delete(labels, k)
		}
	}
	return registryimage.FromArtifact(a,
		registryimage.WithProvider(BuilderID),
		registryimage.WithID(filepath.Base(a.image)),
		registryimage.WithRegion(a.dir),
		registryimage.WithSourceID(a.m.Base),
		registryimage.SetLabels(labels),
	)
}

// BuilderId names the builder.
func (a *Artifact) BuilderId() string { return BuilderID } //nolint:revive // Packer's interface name

// Files lists the image, its manifest and its SBOM.
func (a *Artifact) Files() []string {
	if a.sbom != "" {
		return []string{a.image, a.manifest, a.sbom}
	}
	return []string{a.image, a.manifest}
}

// Id is the image path.
func (a *Artifact) Id() string { return a.image } //nolint:revive // Packer's interface name

// String describes the artifact.
func (a *Artifact) String() string {
	return fmt.Sprintf("kubebake-qemu image %s (manifest %s)", a.image, a.manifest)
}

// State returns builder state: the accelerator, generated_data, and the
// HCP Packer registry metadata (registryimage.ArtifactStateURI).
func (a *Artifact) State(name string) interface{} {
	switch name {
	case registryimage.ArtifactStateURI:
		img, err := a.registryImage()
		if err != nil {
			return nil
		}
		return img
	case "generated_data":
		return a.generatedData()
	}
	return a.state[name]
}

// Destroy removes the output directory.
func (a *Artifact) Destroy() error { return os.RemoveAll(a.dir) }
