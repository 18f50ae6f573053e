// Package bake is `kubebake build`'s engine: it bakes a node image from a
// recipe and a base image, with the same plan (render.Load) and applier
// (internal/apply) the Packer provisioner uses: in chroot mode the base's
// root filesystem is provisioned directly on this machine (the fast path
// without KVM), in vm mode a QEMU machine is provisioned over SSH; the
// result is a compressed qcow2, its SPDX SBOM (internal/sbom, inventoried
// from the provisioned image) and a manifest (internal/manifest), all
// written atomically. The Packer plugin does not import it.
package bake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/internal/apply"
	"github.com/kubebake/kubebake/internal/atomicfile"
	"github.com/kubebake/kubebake/internal/base"
	"github.com/kubebake/kubebake/internal/diskformat"
	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/mounts"
	"github.com/kubebake/kubebake/internal/sbom"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// errNotRoot is the chroot mode run by another user than root.
var errNotRoot = errors.New("chroot mode needs root (it loop-mounts the image and runs chroot); use --mode vm otherwise")

// Modes of a build.
const (
	ModeChroot = "chroot"
	ModeVM     = "vm"
)

// Options configure a build.
type Options struct {
	// Recipe is a built-in name or a recipe file.
	Recipe string
	// Base is the base image (qcow2 or raw).
	Base string
	// OutDir receives NAME.EXT and manifest.json.
	OutDir string
	// Name, when set, is a template for the image's file name (without
	// extension; see NameData), and the manifest is NAME.manifest.json, so
	// a rebuild does not replace the last image and its manifest. Empty:
	// the recipe's name and manifest.json.
	Name string
	// Format is the image's format (internal/diskformat; default qcow2,
	// compressed).
	Format string
	// Compression is the qcow2's compression (default zlib, which every
	// consumer reads; zstd needs QEMU 5.1 or later to read it); the other
	// formats have their own (diskformat.Format.CheckCompression).
	Compression diskformat.Compression
	// Mode is chroot (default) or vm.
	Mode string
	// WorkDir holds temporary files (default: beside OutDir).
	WorkDir string
	// Overlays are laid over the recipe before it is validated (the
	// CLI's --kubernetes-binaries-dir and --cri-dockerd-dir).
	Overlays []recipes.Overlay
	// Inputs supply plan inputs by name (kubebake-firstboot).
	Inputs map[string]string
	// Progress receives progress lines with elapsed times.
	Progress io.Writer
	// Terminal says Progress is a terminal, where a person waits: the
	// image write then shows qemu-img's progress meter there (convert -p).
	// Otherwise qemu-img is quiet (-q).
	Terminal bool
	// Runner runs host commands (default: sys.Exec).
	Runner sys.Runner
	// Version is kubebake's version, the SBOM's creator tool (default: the
	// module's version from the build info, else dev).
	Version string
	// VM tunes the vm mode.
	VM VMOptions
}

// Result is what a build produced.
type Result struct {
	Image    string
	Manifest string
	M        manifest.Manifest
}

// Build bakes the image.
func Build(ctx context.Context, o Options) (res *Result, err error) {
	start := time.Now()
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Runner == nil {
		o.Runner = sys.Exec{}
	}
	if o.Mode == "" {
		o.Mode = ModeChroot
	}
	if o.Mode != ModeChroot && o.Mode != ModeVM {
		return nil, fmt.Errorf("build mode %q: want chroot or vm", o.Mode)
	}
	if o.Format == "" {
		o.Format = "qcow2"
	}
	format, ok := diskformat.Lookup(o.Format)
	if !ok {
		return nil, fmt.Errorf("format %q: want one of %s", o.Format, strings.Join(diskformat.Names(), ", "))
	}
	if err := format.CheckCompression(o.Compression); err != nil {
		return nil, fmt.Errorf("compression %s: %w", o.Compression, err)
	}
	var nameTmpl *template.Template
	if o.Name != "" {
		if nameTmpl, err = parseName(o.Name); err != nil {
			return nil, err
		}
	}
	// Every precondition before anything is created.
	if o.Mode == ModeChroot && os.Geteuid() != 0 {
		return nil, errNotRoot
	}
	if fi, err := os.Stat(o.Base); err != nil {
		return nil, fmt.Errorf("base image: %w", err)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("base image %s is not a regular file", o.Base)
	}
	p, _, err := render.Load(o.Recipe, o.Overlays...)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(o.OutDir); errors.Is(err, fs.ErrNotExist) {
		// An output directory made here goes again when the build fails
		// (os.Remove: only while it is empty).
		defer func() {
			if res == nil {
				_ = os.Remove(o.OutDir)
			}
		}()
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, err
	}
	work := o.WorkDir
	if work == "" {
		work = o.OutDir
	}
	// What a killed build left: its work directory (unmounted and its
	// loop devices detached first) and its temporary image.
	imageStem := filepath.Join(o.OutDir, p.Recipe+"."+format.Ext)
	atomicfile.RemoveLeftovers(imageStem)
	mnt := mounts.System{Runner: o.Runner}
	for _, d := range atomicfile.Leftovers(filepath.Join(work, workDirName)) {
		if err := mnt.RemoveAll(ctx, d); err != nil {
			fmt.Fprintf(o.Progress, "kubebake: a killed build's work directory: %v\n", err)
		}
	}
	tmp, err := atomicfile.MkdirTemp(filepath.Join(work, workDirName))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := mnt.RemoveAll(ctx, tmp); err != nil {
			fmt.Fprintf(o.Progress, "kubebake: remove the work directory: %v\n", err)
		}
	}()
	st := stageTimer{w: o.Progress, start: start}

	var disk, diskDriver string
	var results []apply.StepResult
	var seen *inspected
	switch o.Mode {
	case ModeChroot:
		disk, diskDriver = filepath.Join(tmp, "disk.raw"), "raw"
		if err := run(ctx, o.Runner, "qemu-img", "convert", "-O", "raw", o.Base, disk); err != nil {
			return nil, err
		}
		st.done("base image unpacked")
		root, err := base.FindRoot(disk)
		if err != nil {
			return nil, err
		}
		if results, seen, err = provisionChroot(ctx, o, p, disk, root, filepath.Join(tmp, "root")); err != nil {
			return nil, err
		}
		st.done("provisioned in chroot")
	case ModeVM:
		disk, diskDriver = filepath.Join(tmp, "overlay.qcow2"), "qcow2"
		if err := vmOverlay(ctx, o.Runner, o.Base, disk); err != nil {
			return nil, err
		}
		if results, seen, err = provisionVM(ctx, o, p, disk, tmp); err != nil {
			return nil, err
		}
		st.done("provisioned in a QEMU machine over SSH")
	}
	res, err = publish(ctx, o, p, provisioned{disk: disk, driver: diskDriver, results: results, images: seen.images, inventory: seen.inventory}, format, nameTmpl, start)
	if err != nil {
		return nil, err
	}
	st.done(format.Name + " image and manifest written")
	return res, nil
}

// workDirName names a build's work directory (made as a temporary
// directory: .kubebake-build.tmp-PID-RANDOM).
const workDirName = "kubebake-build"

// provisionChroot loop-mounts the root partition, applies the plan in a
// chroot, and unmounts and checks the filesystem.
func provisionChroot(ctx context.Context, o Options, p *render.Plan, raw string, root base.RootPartition, mnt string) ([]apply.StepResult, *inspected, error) {
	loop, err := output(ctx, o.Runner, "losetup", "--find", "--show", "--offset", strconv.FormatInt(root.Offset, 10),
		"--sizelimit", strconv.FormatInt(root.Size, 10), raw)
	if err != nil {
		return nil, nil, err
	}
	dev := strings.TrimSpace(loop)
	defer run(context.Background(), o.Runner, "losetup", "--detach", dev)
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return nil, nil, err
	}
	if err := run(ctx, o.Runner, "mount", dev, mnt); err != nil {
		return nil, nil, err
	}
	mounted := true
	defer func() {
		if mounted {
			run(context.Background(), o.Runner, "umount", "--recursive", mnt)
		}
	}()
	// The package downloads and lists and the staged plan stay on this
	// machine, beside the root: nothing is written into the image only to
	// be deleted again.
	ch := &apply.Chroot{Root: mnt, Scratch: p.Scratch, Stage: render.Stage, HostDir: filepath.Join(filepath.Dir(mnt), "scratch"), Runner: o.Runner}
	if err := ch.Open(ctx); err != nil {
		return nil, nil, err
	}
	results, err := apply.Apply(ctx, ch, p, apply.Options{Inputs: o.Inputs, Progress: o.Progress})
	var inv sbom.Inventory
	if err == nil {
		inv, err = collectInventory(ctx, ch, p)
	}
	if cerr := ch.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return results, nil, err
	}
	images, err := readRuntimeImages(filepath.Join(mnt, api.RuntimeImagesPath))
	if err != nil {
		return results, nil, err
	}
	// Give the blocks of what the steps deleted back to the sparse raw
	// disk, so the compressed qcow2 does not carry them. ext4 trims a
	// freed block only once the deletion is committed: sync first (fstrim
	// right after the seal step finds nothing to trim). Where the loop
	// device cannot discard, zerofree zeroes the free blocks instead
	// (slower: it reads every one).
	trimmed := run(ctx, o.Runner, "sync", "-f", mnt) == nil && run(ctx, o.Runner, "fstrim", mnt) == nil
	if err := run(ctx, o.Runner, "umount", mnt); err != nil {
		return results, nil, err
	}
	mounted = false
	if !trimmed {
		if err := run(ctx, o.Runner, "zerofree", dev); err != nil {
			fmt.Fprintf(o.Progress, "kubebake: zerofree: %v (apt-get install zerofree; the image will be larger)\n", err)
		}
	}
	// e2fsck exits 1 when it corrected something: still a clean filesystem.
	if err := run(ctx, o.Runner, "e2fsck", "-fy", dev); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			return results, nil, err
		}
	}
	return results, &inspected{images: images, inventory: inv}, nil
}

// inspected is what a bake read from the provisioned image: the runtime's
// store and the SBOM's inventory.
type inspected struct {
	images    []manifest.RuntimeImage
	inventory sbom.Inventory
}

// readRuntimeImages reads the images step's record; a plan without an
// images step leaves none.
func readRuntimeImages(path string) ([]manifest.RuntimeImage, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	imgs, err := manifest.ParseCrictlImages(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", api.RuntimeImagesPath, err)
	}
	return imgs, nil
}

// stageTimer prints a progress line per build stage.
type stageTimer struct {
	w     io.Writer
	start time.Time
	last  time.Time
}

func (s *stageTimer) done(what string) {
	now := time.Now()
	if s.last.IsZero() {
		s.last = s.start
	}
	fmt.Fprintf(s.w, "kubebake: %s in %s (total %s)\n", what, now.Sub(s.last).Round(100*time.Millisecond), now.Sub(s.start).Round(100*time.Millisecond))
	s.last = now
}

// run runs a command for its effect.
func run(ctx context.Context, r sys.Runner, name string, args ...string) error {
	_, err := r.Run(ctx, sys.Command(name, args...))
	return err
}

// output runs a command and returns its standard output.
func output(ctx context.Context, r sys.Runner, name string, args ...string) (string, error) {
	c := sys.Command(name, args...)
	c.StdoutOnly = true
	out, err := r.Run(ctx, c)
	return string(out), err
}
