package qemu

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/internal/atomicfile"
	"github.com/kubebake/kubebake/internal/diskformat"
	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/sbom"
	"github.com/kubebake/kubebake/recipes/render"
)

// stepWriteManifest writes manifest.json beside the image, atomically: the
// image's sha256 and size, the recipe, Kubernetes and runtime versions and
// images the provisioner recorded in /etc/kubebake/image.json, the source
// and the build time. When the guest was inventoried (an SSH build with the
// kubebake provisioner), the image's SPDX SBOM, NAME.spdx.json, is written
// first and the manifest names it.
type stepWriteManifest struct {
	config *Config
	start  time.Time
	now    func() time.Time
}

func (s *stepWriteManifest) Run(_ context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get(keyUI).(packersdk.Ui)
	img := state.Get(keyOutput).(string)
	sum, size, err := manifest.FileSHA256(img)
	if err != nil {
		return halt(state, err)
	}
	now := s.now()
	m := manifest.Manifest{
		SchemaVersion: manifest.SchemaVersion,
		Name:          s.config.VMName, Image: filepath.Base(img), Format: s.config.Format, SHA256: sum, Size: size,
		Base: s.config.SourceImage, Mode: "packer-kubebake-qemu", BuiltAt: now.UTC(),
		BuildSeconds: now.Sub(s.start).Seconds(),
	}
	if f, ok := diskformat.Lookup(s.config.Format); ok {
		m.Compression = string(f.Compression(s.config.compression()))
	}
	if src, ok := state.Get(keySource).(string); ok {
		if bs, _, err := manifest.FileSHA256(src); err == nil {
			m.BaseSHA256 = bs
		}
	}
	if ii, ok := state.Get(keyImageInfo).(api.ImageInfo); ok {
		m.Recipe, m.Distro, m.Release, m.Arch = ii.Recipe, ii.Distro, ii.Release, ii.Arch
		m.KubernetesVersion, m.Images, m.PlanDigest = ii.KubernetesVersion, ii.Images, ii.PlanDigest
		m.KubernetesSource, m.KubernetesOrigin = ii.KubernetesSource, ii.KubernetesOrigin
		m.Runtime = render.Runtime{Kind: ii.Runtime, Endpoint: ii.CRISocket, CgroupDriver: ii.CgroupDriver, SandboxImage: ii.SandboxImage}
	}
	if ri, ok := state.Get(keyRuntimeImages).([]manifest.RuntimeImage); ok {
		m.RuntimeImages = ri
	}
	if inv, ok := state.Get(keyInventory).(sbom.Inventory); ok {
		p, err := writeSBOM(s.config.OutputDirectory, &m, inv)
		if err != nil {
			return halt(state, err)
		}
		ui.Say("Wrote " + p)
		state.Put(keySBOM, p)
	}
	path := filepath.Join(s.config.OutputDirectory, "manifest.json")
	if err := atomicfile.WriteJSON(path, m); err != nil {
		return haltf(state, "manifest: %w", err)
	}
	ui.Say(fmt.Sprintf("Wrote %s (image sha256 %s, %d bytes)", path, sum, size))
	state.Put(keyManifest, path)
	state.Put(keyManifestData, m)
	return multistep.ActionContinue
}

func (s *stepWriteManifest) Cleanup(multistep.StateBag) {}
