package bake

import (
	"fmt"

	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/sbom"
	"github.com/kubebake/kubebake/recipes/render"
)

// imageSBOM makes the image's SPDX SBOM from what the bake read from the
// provisioned image, and names it in the manifest: NAME.spdx.json beside
// the image. m must describe the new image (its name, file and sha256).
func imageSBOM(o Options, p *render.Plan, d provisioned, m *manifest.Manifest) ([]byte, error) {
	inv := d.inventory
	inv.Images = sbom.ImagesFromRuntime(d.images)
	doc, err := sbom.Build(sbom.Meta{
		Name: m.Name, File: m.Image, SHA256: m.SHA256, Version: p.Kubernetes.Version,
		Comment: fmt.Sprintf("kubebake recipe %s (%s %s %s): Kubernetes %s from %s, runtime %s from %s; plan %s",
			p.Recipe, p.Base.Distro, p.Base.Release, p.Base.Arch, p.Kubernetes.Version, p.Kubernetes.Source,
			p.Runtime.Kind, p.Runtime.Source, p.Digest()),
		Tool: "kubebake-" + sbom.ToolVersion(o.Version), Created: m.BuiltAt,
	}, inv)
	if err != nil {
		return nil, err
	}
	m.SBOM = m.Name + ".spdx.json"
	return doc, nil
}
