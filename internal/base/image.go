package base

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/diskfs/go-diskfs/partition/gpt"

	"github.com/kubebake/kubebake/internal/sys"
)

// builder is one build, with the host behind fields tests replace.
type builder struct {
	run       sys.Runner
	log       io.Writer
	euid      func() int
	lookPath  func(string) (string, error)
	mountinfo func() (string, error)
	now       func() time.Time
	pid       int

	stages []Stage
}

// hostTools are the host programs a build runs, and their Debian packages.
var hostTools = []struct{ program, pkg string }{
	{"debootstrap", "debootstrap"},
	{"chroot", "coreutils"},
	{"mkfs.ext4", "e2fsprogs"},
	{"qemu-img", "qemu-utils"},
	{"umount", "mount"},
}

// build is Build with the builder's host.
func (b *builder) build(ctx context.Context, o Options) (m *Manifest, err error) {
	o = o.withDefaults()
	d, layout, err := validate(o)
	if err != nil {
		return nil, err
	}
	if b.euid() != 0 {
		return nil, ErrNotRoot
	}
	if err := b.checkTools(); err != nil {
		return nil, err
	}
	outDir := filepath.Dir(o.Output)
	if fi, err := os.Stat(outDir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("output directory %s: does not exist", outDir)
	}
	if o.RootUUID == "" {
		o.RootUUID = newUUID()
	}
	cacheDir, err := filepath.Abs(o.CacheDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	work, err := os.MkdirTemp(o.WorkDir, "kubebake-base-")
	if err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	if work, err = filepath.Abs(work); err != nil {
		return nil, err
	}
	fmt.Fprintf(b.log, "base: building %s (%s) in %s\n", d.name, d.suite, work)
	defer func() {
		if o.KeepWorkDir {
			fmt.Fprintf(b.log, "base: kept work directory %s\n", work)
			return
		}
		if cerr := b.cleanup(context.WithoutCancel(ctx), work); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()

	j := &job{
		o:       o,
		d:       d,
		layout:  layout,
		ids:     diskIDs{disk: newUUID(), esp: newUUID(), root: newUUID()},
		work:    work,
		rootfs:  filepath.Join(work, "rootfs"),
		tarball: filepath.Join(cacheDir, tarballName(d, o.Mirror, d.includes(o.Packages))),
	}
	steps := []struct {
		name string
		fn   func(context.Context, *job) error
	}{
		{"download", b.download},
		{"debootstrap", b.debootstrap},
		{"configure", b.configure},
		{"uki", b.buildUKI},
		{"mkfs", b.mkfs},
		{"disk", b.assemble},
		{"convert", b.convert},
	}
	for _, s := range steps {
		if err := b.stage(ctx, s.name, j, s.fn); err != nil {
			return nil, err
		}
	}
	return j.manifest, nil
}

// job is the state one build's stages share.
type job struct {
	o       Options
	d       distro
	layout  Layout
	ids     diskIDs
	work    string
	rootfs  string
	tarball string

	kernel, debianVersion string
	uki                   string
	rootImage             string
	raw                   string
	sizes                 Sizes
	cached                bool
	manifest              *Manifest
}

// stage runs one stage, logging and recording its duration.
func (b *builder) stage(ctx context.Context, name string, j *job, fn func(context.Context, *job) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	start := b.now()
	fmt.Fprintf(b.log, "base: %s\n", name)
	j.cached = false
	if err := fn(ctx, j); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	took := b.now().Sub(start)
	b.stages = append(b.stages, Stage{Name: name, Seconds: seconds(took), Cached: j.cached})
	note := ""
	if j.cached {
		note = " (cached)"
	}
	fmt.Fprintf(b.log, "base: %s done in %s%s\n", name, took.Round(100*time.Millisecond), note)
	return nil
}

// seconds is d in seconds, to the millisecond.
func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1000) / 1000
}

// checkTools reports every missing host program with its package.
func (b *builder) checkTools() error {
	var missing []string
	for _, t := range hostTools {
		if _, err := b.lookPath(t.program); err != nil {
			missing = append(missing, fmt.Sprintf("%s (apt-get install %s)", t.program, t.pkg))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrMissingTools, strings.Join(missing, ", "))
	}
	return nil
}

// download fills the package tarball cache, unless it is there already.
func (b *builder) download(ctx context.Context, j *job) error {
	if _, err := os.Stat(j.tarball); err == nil && !j.o.RefreshCache {
		j.cached = true
		fmt.Fprintf(b.log, "base: using cached packages %s\n", j.tarball)
		return nil
	}
	tmp := tarballTemp(j.tarball, b.pid)
	_ = os.Remove(tmp)
	bs := bootstrap{suite: j.d.suite, mirror: j.o.Mirror, includes: j.d.includes(j.o.Packages),
		tarball: tmp, target: filepath.Join(j.work, "download")}
	if _, err := b.run.Run(ctx, sys.Command("debootstrap", bs.downloadArgs()...)); err != nil {
		_ = os.Remove(tmp)
		return withDebootstrapLog(err, bs.target)
	}
	if err := os.Rename(tmp, j.tarball); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// debootstrap installs the system from the tarball.
func (b *builder) debootstrap(ctx context.Context, j *job) error {
	bs := bootstrap{suite: j.d.suite, mirror: j.o.Mirror, includes: j.d.includes(j.o.Packages),
		tarball: j.tarball, target: j.rootfs}
	if _, err := b.run.Run(ctx, sys.Command("debootstrap", bs.installArgs()...)); err != nil {
		return withDebootstrapLog(err, bs.target)
	}
	return nil
}

// withDebootstrapLog adds the end of debootstrap's own log, which says what
// failed inside the target, to err.
func withDebootstrapLog(err error, target string) error {
	log, rerr := os.ReadFile(filepath.Join(target, "debootstrap", "debootstrap.log"))
	if rerr != nil || len(log) == 0 {
		return err
	}
	return fmt.Errorf("%w\n%s (end):\n%s", err, filepath.Join(target, "debootstrap", "debootstrap.log"), sys.Tail(log, 30))
}

// configure turns the debootstrapped tree into a cloud image.
func (b *builder) configure(ctx context.Context, j *job) error {
	root := j.rootfs
	boot, err := os.ReadDir(filepath.Join(root, "boot"))
	if err != nil {
		return err
	}
	names := make([]string, 0, len(boot))
	for _, e := range boot {
		names = append(names, e.Name())
	}
	if j.kernel, err = kernelVersion(names); err != nil {
		return err
	}
	v, err := os.ReadFile(filepath.Join(root, "etc", "debian_version"))
	if err != nil {
		return err
	}
	j.debianVersion = strings.TrimSpace(string(v))

	for _, g := range removeGlobs {
		matches, err := filepath.Glob(filepath.Join(root, g))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if err := os.Remove(m); err != nil {
				return err
			}
		}
	}
	cfg := imageConfig{
		suite: j.d.suite, mirror: j.o.Mirror, securityMirror: j.o.SecurityMirror, noUpdates: j.o.NoUpdates,
		rootUUID: j.o.RootUUID, espPartUUID: j.ids.esp, hostname: j.o.Hostname, kernelArgs: j.o.KernelArgs, uki: j.d.uki,
	}
	for _, f := range cfg.files() {
		if err := writeImageFile(root, f); err != nil {
			return err
		}
	}
	resolv := filepath.Join(root, "etc", "resolv.conf")
	if err := os.Remove(resolv); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Symlink(resolvStub, resolv); err != nil {
		return err
	}
	shadowPath := filepath.Join(root, "etc", "shadow")
	shadow, err := os.ReadFile(shadowPath)
	if err != nil {
		return err
	}
	locked, err := lockRoot(shadow)
	if err != nil {
		return err
	}
	if err := os.WriteFile(shadowPath, locked, 0o640); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(root, espMountPoint), 0o755); err != nil {
		return err
	}
	_, err = b.run.Run(ctx, sys.Command("chroot", root, "systemctl", "enable", "systemd-networkd.service"))
	return err
}

// writeImageFile writes f under root, replacing what is there.
func writeImageFile(root string, f imageFile) error {
	p := filepath.Join(root, f.path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
		return err
	}
	return os.Chmod(p, f.mode) // not masked by the umask
}

// ukiBuildOutput is where, inside the chroot, the UKI hook writes the UKI
// during the build.
const ukiBuildOutput = "/var/tmp/kubebake-uki.efi"

// buildUKI writes the initramfs again, now that fstab and the initramfs
// configuration are in place, which runs the image's own UKI hook; then it
// moves the UKI out of the tree.
func (b *builder) buildUKI(ctx context.Context, j *job) error {
	c := sys.Command("chroot", j.rootfs, "update-initramfs", "-u", "-k", j.kernel)
	c.Env = []string{"KUBEBAKE_UKI_OUTPUT=" + ukiBuildOutput}
	if _, err := b.run.Run(ctx, c); err != nil {
		return err
	}
	j.uki = filepath.Join(j.work, "uki.efi")
	if err := os.Rename(filepath.Join(j.rootfs, ukiBuildOutput), j.uki); err != nil {
		return fmt.Errorf("UKI hook wrote no UKI: %w", err)
	}
	f, err := os.Open(j.uki)
	if err != nil {
		return err
	}
	defer f.Close()
	var magic [2]byte
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) != "MZ" {
		return fmt.Errorf("%s is not a PE image", j.uki)
	}
	j.sizes.UKI = fi.Size()
	return nil
}

// mkfs makes the root ext4 file system from the tree, in a sparse file the
// size of the root partition.
func (b *builder) mkfs(ctx context.Context, j *job) error {
	if err := b.checkNoMounts(j.rootfs); err != nil {
		return err
	}
	size, err := treeSize(j.rootfs)
	if err != nil {
		return err
	}
	j.sizes.RootFS = size
	j.rootImage = filepath.Join(j.work, "root.ext4")
	f, err := os.Create(j.rootImage)
	if err != nil {
		return err
	}
	if err := f.Truncate(j.layout.Root.Size); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	_, err = b.run.Run(ctx, sys.Command("mkfs.ext4", mkfsArgs(j.rootfs, j.o.RootUUID, j.rootImage)...))
	return err
}

// mkfsArgs are mkfs.ext4's arguments to make the root file system in image
// from the tree at rootfs.
func mkfsArgs(rootfs, uuid, image string) []string {
	return []string{"-q", "-F", "-d", rootfs, "-U", uuid, "-L", rootLabel, image}
}

// assemble writes the raw disk.
func (b *builder) assemble(_ context.Context, j *job) error {
	uki, err := os.Open(j.uki)
	if err != nil {
		return err
	}
	defer uki.Close()
	j.raw = filepath.Join(j.work, "disk.raw")
	if err := assembleDisk(j.raw, j.layout, j.ids, uki, j.rootImage); err != nil {
		return err
	}
	// The ext4 image is in the disk now; free its space.
	if err := os.Remove(j.rootImage); err != nil {
		return err
	}
	j.sizes.RawAllocated, err = allocated(j.raw)
	return err
}

// convert writes the qcow2 image and its manifest beside the output, then
// renames both into place.
func (b *builder) convert(ctx context.Context, j *job) (err error) {
	start := b.now()
	out := j.o.Output
	sidecar := SidecarPath(out)
	tmp, err := tempBeside(out)
	if err != nil {
		return err
	}
	tmpSidecar := ""
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
			if tmpSidecar != "" {
				_ = os.Remove(tmpSidecar)
			}
		}
	}()
	if _, err := b.run.Run(ctx, sys.Command("qemu-img", convertArgs(j.raw, tmp)...)); err != nil {
		return err
	}
	fi, err := os.Stat(tmp)
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	j.sizes.QCOW2 = fi.Size()
	j.manifest = b.manifest(j)
	j.manifest.Stages = append(j.manifest.Stages, Stage{Name: "convert", Seconds: seconds(b.now().Sub(start))})
	data, err := json.MarshalIndent(j.manifest, "", "  ")
	if err != nil {
		return err
	}
	if tmpSidecar, err = tempBeside(sidecar); err != nil {
		return err
	}
	if err := os.WriteFile(tmpSidecar, append(data, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.Chmod(tmpSidecar, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	if err := os.Rename(tmpSidecar, sidecar); err != nil {
		_ = os.Remove(out) // no image without its manifest
		return err
	}
	fmt.Fprintf(b.log, "base: wrote %s (%d MiB qcow2; raw %d MiB virtual, %d MiB allocated) and %s\n",
		out, j.sizes.QCOW2>>20, j.layout.DiskSize>>20, j.sizes.RawAllocated>>20, sidecar)
	return nil
}

// manifest describes j's image, with the stages done so far.
func (b *builder) manifest(j *job) *Manifest {
	return &Manifest{
		Distro:        j.d.name,
		Release:       j.d.suite,
		DebianVersion: j.debianVersion,
		Kernel:        j.kernel,
		KernelCmdline: kernelCmdline(j.o.RootUUID, j.o.KernelArgs),
		Mirror:        j.o.Mirror,
		Packages:      j.d.includes(j.o.Packages),
		Format:        "qcow2",
		DiskSize:      j.layout.DiskSize,
		DiskGUID:      j.ids.disk,
		ESP: Partition{Number: espPartition, Name: espLabel, Type: strings.ToLower(string(gpt.EFISystemPartition)),
			PartUUID: j.ids.esp, Extent: j.layout.ESP, Filesystem: "vfat", Label: espLabel, MountPoint: espMountPoint},
		Root: Partition{Number: rootPartition, Name: rootLabel, Type: strings.ToLower(string(gpt.LinuxRootX86_64)),
			PartUUID: j.ids.root, Extent: j.layout.Root, Filesystem: "ext4", UUID: j.o.RootUUID, Label: rootLabel, MountPoint: "/"},
		Sizes:   j.sizes,
		BuiltAt: b.now().UTC().Truncate(time.Second),
		Stages:  slices.Clone(b.stages),
	}
}

// tempBeside creates an empty temporary file in path's directory, for a
// rename over path.
func tempBeside(path string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

// treeSize is the total size of the regular files under dir.
func treeSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			fi, err := e.Info()
			if err != nil {
				return err
			}
			total += fi.Size()
		}
		return nil
	})
	return total, err
}

// allocated is the space path takes on disk.
func allocated(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512, nil
	}
	return fi.Size(), nil
}

// checkNoMounts fails when anything is mounted at or below dir.
func (b *builder) checkNoMounts(dir string) error {
	info, err := b.mountinfo()
	if err != nil {
		return err
	}
	if m := mountsUnder(info, dir); len(m) > 0 {
		return fmt.Errorf("%w in %s: %s", ErrStillMounted, dir, strings.Join(m, ", "))
	}
	return nil
}

// cleanup unmounts what a killed debootstrap left mounted in work, then
// removes work; with a mount left, work stays, since removing it would reach
// into the mounted file system.
func (b *builder) cleanup(ctx context.Context, work string) error {
	info, err := b.mountinfo()
	if err != nil {
		return fmt.Errorf("cleanup: %w; left %s in place", err, work)
	}
	for _, m := range mountsUnder(info, work) {
		_, _ = b.run.Run(ctx, sys.Command("umount", "--lazy", m))
	}
	if err := b.checkNoMounts(work); err != nil {
		return fmt.Errorf("cleanup: %w; left %s in place", err, work)
	}
	if err := os.RemoveAll(work); err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	return nil
}
