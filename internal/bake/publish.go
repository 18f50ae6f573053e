package bake

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
	"time"

	"github.com/kubebake/kubebake/internal/apply"
	"github.com/kubebake/kubebake/internal/atomicfile"
	"github.com/kubebake/kubebake/internal/diskformat"
	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/sbom"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/recipes/render"
)

// provisioned is a provisioned disk, ready to become the image, and what
// provisioning it reported.
type provisioned struct {
	// disk is the provisioned disk and driver its qemu-img format.
	disk, driver string
	results      []apply.StepResult
	images       []manifest.RuntimeImage
	// inventory is what the SBOM lists besides images.
	inventory sbom.Inventory
}

// publish converts the provisioned disk to the image format (a temporary
// file beside the image's final name, synced before it is renamed), and
// commits it with its manifest. When anything fails, in qemu-img or here,
// the temporary image is removed and the previous image and manifest stay
// as they were.
func publish(ctx context.Context, o Options, p *render.Plan, d provisioned, format diskformat.Format, nameTmpl *template.Template, start time.Time) (*Result, error) {
	f, err := atomicfile.CreateTemp(filepath.Join(o.OutDir, p.Recipe+"."+format.Ext))
	if err != nil {
		return nil, err
	}
	tmpImage := f.Name()
	f.Close()
	defer os.Remove(tmpImage)
	convert := func(ctx context.Context, dst string) error {
		c, err := convertCmd(o, format, d, dst)
		if err != nil {
			return err
		}
		_, err = o.Runner.Run(ctx, c)
		return err
	}
	machine := diskformat.Machine{Name: p.Recipe, Distro: p.Base.Distro, Release: p.Base.Release, Arch: p.Base.Arch}
	if err := format.Write(ctx, convert, diskformat.QemuImgVia(o.Runner, "qemu-img"), tmpImage, machine); err != nil {
		return nil, err
	}
	if err := syncFile(tmpImage); err != nil {
		return nil, fmt.Errorf("sync the new image: %w", err)
	}
	sum, size, err := manifest.FileSHA256(tmpImage)
	if err != nil {
		return nil, err
	}
	name, manifestName := p.Recipe, "manifest.json"
	if nameTmpl != nil {
		now := time.Now().UTC()
		if name, err = execName(nameTmpl, NameData{
			Recipe: p.Recipe, Distro: p.Base.Distro, Release: p.Base.Release, Arch: p.Base.Arch,
			KubernetesVersion: p.Kubernetes.Version, Runtime: p.Runtime.Kind,
			Date: now.Format("20060102"), Time: now.Format("150405"), ShortDigest: sum[:12],
		}); err != nil {
			return nil, err
		}
		manifestName = name + ".manifest.json"
	}
	image := filepath.Join(o.OutDir, name+"."+format.Ext)
	baseSum, _, err := manifest.FileSHA256(o.Base)
	if err != nil {
		return nil, err
	}
	m := manifest.Manifest{
		SchemaVersion: manifest.SchemaVersion, Name: name, Image: filepath.Base(image), Format: format.Name, SHA256: sum, Size: size,
		Recipe: p.Recipe, Distro: p.Base.Distro, Release: p.Base.Release, Arch: p.Base.Arch,
		KubernetesVersion: p.Kubernetes.Version, KubernetesSource: p.Kubernetes.Source, KubernetesOrigin: p.Kubernetes.Origin, PlanDigest: p.Digest(), Runtime: p.Runtime, Images: p.Images,
		Base: filepath.Base(o.Base), BaseSHA256: baseSum, Mode: o.Mode, BuiltAt: time.Now().UTC(),
		RuntimeImages: d.images, Compression: string(format.Compression(o.Compression)),
	}
	if vs, err := virtualSize(ctx, o.Runner, format.Driver, tmpImage); err == nil {
		m.VirtualSize = vs
	}
	for _, r := range d.results {
		m.Steps = append(m.Steps, manifest.StepTiming{Name: r.Name, Seconds: r.Duration.Seconds()})
	}
	manifestPath := filepath.Join(o.OutDir, manifestName)
	m.BuildSeconds = time.Since(start).Seconds()
	doc, err := imageSBOM(o, p, d, &m)
	if err != nil {
		return nil, err
	}
	if err := commit(tmpImage, image, manifestPath, m, doc); err != nil {
		return nil, err
	}
	return &Result{Image: image, Manifest: manifestPath, M: m}, nil
}

// convertCmd is the qemu-img convert that writes the provisioned disk to
// dst in format with o.Compression: on a terminal with its progress meter
// streamed to o.Progress, otherwise quiet.
func convertCmd(o Options, format diskformat.Format, d provisioned, dst string) (sys.Cmd, error) {
	if !o.Terminal {
		args, err := format.ConvertArgs(d.driver, d.disk, o.Compression, dst)
		return sys.Command("qemu-img", args...), err
	}
	args, err := format.ProgressConvertArgs(d.driver, d.disk, o.Compression, dst)
	c := sys.Command("qemu-img", args...)
	c.Stream = o.Progress
	return c, err
}

// syncFile flushes a file that another program wrote to the disk, so that
// after the rename a power cut cannot leave the image's name on data that
// never reached the disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// commit puts the image, its SBOM (m.SBOM, beside the manifest) and its
// manifest in place so that a manifest or SBOM only ever describes the
// image beside it: the old manifest and SBOM go first, then the image is
// renamed over the old one, then the new SBOM and the new manifest are
// written, each step synced. Killed in between, the directory holds the
// old set, or an image without a manifest (an unfinished build, with or
// without its SBOM), never a manifest or SBOM of another image. The image
// is made readable by all (0644, as kubebake base's): its temporary file
// was created 0600, and an image holds no secret (the seal step removes
// them), while a hypervisor's own user (libvirt-qemu) must read it.
func commit(tmpImage, image, manifestPath string, m manifest.Manifest, sbomDoc []byte) error {
	if m.SBOM == "" || filepath.Base(m.SBOM) != m.SBOM {
		return fmt.Errorf("the manifest's sbom %q is not a file name", m.SBOM)
	}
	if err := os.Chmod(tmpImage, 0o644); err != nil {
		return fmt.Errorf("make the new image readable: %w", err)
	}
	sbomPath := filepath.Join(filepath.Dir(manifestPath), m.SBOM)
	if err := atomicfile.Remove(manifestPath); err != nil {
		return fmt.Errorf("remove the previous manifest: %w", err)
	}
	if err := atomicfile.Remove(sbomPath); err != nil {
		return fmt.Errorf("remove the previous SBOM: %w", err)
	}
	if err := atomicfile.Rename(tmpImage, image); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(sbomPath, sbomDoc, 0o644); err != nil {
		return err
	}
	return atomicfile.WriteJSON(manifestPath, m)
}

// virtualSize asks qemu-img for an image's virtual size.
func virtualSize(ctx context.Context, r sys.Runner, driver, image string) (int64, error) {
	out, err := output(ctx, r, "qemu-img", "info", "--output=json", "-f", driver, image)
	if err != nil {
		return 0, err
	}
	var info struct {
		VirtualSize int64 `json:"virtual-size"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		return 0, fmt.Errorf("qemu-img info: %w", err)
	}
	return info.VirtualSize, nil
}
