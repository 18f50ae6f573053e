// Package base builds bootable cloud-style base images from Debian packages
// alone, for sites whose only outside source is a Debian mirror.
//
// Build runs debootstrap (minbase, with a kernel, cloud-init and OpenSSH)
// into a work directory, configures the tree (fstab, apt sources, cloud-init
// data sources, no machine ID, SSH host keys or root password), builds a
// unified kernel image (UKI) with the distro's own tools, makes the root
// ext4 file system from the tree with mkfs.ext4 -d, and assembles a GPT disk
// without loop devices: a FAT32 EFI System Partition (made with go-diskfs)
// holding the UKI at \EFI\BOOT\BOOTX64.EFI, which UEFI firmware boots with no
// boot loader, and the root partition. The disk is written as compressed
// qcow2, beside a JSON manifest that says what is in it.
package base

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/diskfs/go-diskfs/partition/gpt"

	"github.com/kubebake/kubebake/internal/sys"
)

// Defaults of Options.
const (
	// DefaultMirror is the Debian mirror debootstrap and apt use.
	DefaultMirror = "http://deb.debian.org/debian"
	// DefaultSecurityMirror is the security mirror the kubebake CLI puts
	// into apt's sources (Options.SecurityMirror has no default).
	DefaultSecurityMirror = "http://deb.debian.org/debian-security"
	// DefaultCacheDir holds the package tarballs, relative to the working
	// directory.
	DefaultCacheDir = "_build/cache/base"
	// DefaultDiskSize is the disk's virtual size.
	DefaultDiskSize = 4 << 30
	// DefaultESPSize is the EFI System Partition's size.
	DefaultESPSize = 256 << 20
	// DefaultHostname is the /etc/hostname placeholder.
	DefaultHostname = "localhost"
)

// Options are the inputs of Build.
type Options struct {
	// Distro is the release to build: "debian-13" or "debian-12" (see
	// Distros).
	Distro string
	// Output is the qcow2 image to write, replaced whole, never
	// half-written. Its manifest goes to SidecarPath(Output).
	Output string
	// Mirror is the Debian mirror debootstrap downloads from and apt in the
	// image uses; DefaultMirror when empty.
	Mirror string
	// SecurityMirror is the Debian security mirror apt in the image uses;
	// left out of the sources when empty (the kubebake CLI defaults it to
	// DefaultSecurityMirror).
	SecurityMirror string
	// NoUpdates leaves the SUITE-updates suite out of the image's apt
	// sources, for mirrors that do not carry it.
	NoUpdates bool
	// CacheDir holds the downloaded package tarballs, so a second build
	// downloads nothing; DefaultCacheDir when empty.
	CacheDir string
	// RefreshCache downloads the packages again even when cached.
	RefreshCache bool
	// WorkDir is where the temporary build directory (about 1 GB, and the
	// sparse disk) is made; the system's temporary directory when empty.
	WorkDir string
	// KeepWorkDir leaves the build directory in place, for debugging.
	KeepWorkDir bool
	// DiskSize is the disk's virtual size in bytes, a multiple of 1 MiB;
	// DefaultDiskSize when 0. The root partition takes all but the ESP.
	DiskSize int64
	// ESPSize is the EFI System Partition's size in bytes, a multiple of
	// 1 MiB; DefaultESPSize when 0.
	ESPSize int64
	// Packages are installed on top of the distro's (debootstrap
	// --include; virtual packages are not resolved).
	Packages []string
	// KernelArgs are added to the kernel command line.
	KernelArgs []string
	// Hostname is the /etc/hostname placeholder; DefaultHostname when
	// empty. cloud-init replaces it.
	Hostname string
	// RootUUID is the root file system's UUID; a random one when empty.
	RootUUID string
	// Log receives progress and the time of each stage; nothing when nil.
	Log io.Writer
	// Runner runs the host commands; sys.Exec when nil.
	Runner sys.Runner
}

// Manifest describes a built image; Build writes it as JSON beside the image
// (SidecarPath) for the tools that later open the image.
type Manifest struct {
	// Distro is the DISTRO built, e.g. "debian-13".
	Distro string `json:"distro"`
	// Release is the Debian suite, e.g. "trixie".
	Release string `json:"release"`
	// DebianVersion is the image's /etc/debian_version, e.g. "13.2".
	DebianVersion string `json:"debianVersion"`
	// Kernel is the kernel's version (uname -r).
	Kernel string `json:"kernel"`
	// KernelCmdline is the command line in the UKI.
	KernelCmdline string `json:"kernelCmdline"`
	// Mirror is the Debian mirror the packages came from.
	Mirror string `json:"mirror"`
	// Packages are the packages given to debootstrap --include.
	Packages []string `json:"packages"`
	// Format is the image's format, "qcow2".
	Format string `json:"format"`
	// DiskSize is the disk's virtual size in bytes.
	DiskSize int64 `json:"diskSize"`
	// DiskGUID is the GPT's disk GUID.
	DiskGUID string `json:"diskGUID"`
	// ESP is the EFI System Partition.
	ESP Partition `json:"esp"`
	// Root is the root partition.
	Root Partition `json:"root"`
	// Sizes are the sizes measured while building.
	Sizes Sizes `json:"sizes"`
	// BuiltAt is when the build finished.
	BuiltAt time.Time `json:"builtAt"`
	// Stages are the build's stages and their durations.
	Stages []Stage `json:"stages"`
}

// Partition is one partition of the disk.
type Partition struct {
	// Number is the partition's number (1 is the ESP, 2 root).
	Number int `json:"number"`
	// Name is the GPT partition name.
	Name string `json:"name"`
	// Type is the GPT partition type GUID.
	Type string `json:"type"`
	// PartUUID is the GPT partition GUID.
	PartUUID string `json:"partUUID"`
	// Extent is where the partition is on the disk.
	Extent
	// Filesystem is the file system type, "vfat" or "ext4".
	Filesystem string `json:"filesystem"`
	// UUID is the file system UUID (the root's; the ESP is found by
	// PartUUID).
	UUID string `json:"uuid,omitempty"`
	// Label is the file system label.
	Label string `json:"label"`
	// MountPoint is where the image's fstab mounts it.
	MountPoint string `json:"mountPoint"`
}

// Sizes are sizes in bytes measured while building.
type Sizes struct {
	// RootFS is the total size of the root file system's files.
	RootFS int64 `json:"rootfs"`
	// UKI is the unified kernel image's size.
	UKI int64 `json:"uki"`
	// RawAllocated is the space the sparse raw disk took.
	RawAllocated int64 `json:"rawAllocated"`
	// QCOW2 is the size of the compressed image.
	QCOW2 int64 `json:"qcow2"`
}

// Stage is a build stage and how long it took.
type Stage struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	// Cached is set when the stage was skipped thanks to the cache.
	Cached bool `json:"cached,omitempty"`
}

// SidecarPath is where the manifest of the image at output goes: output with
// ".json" in place of ".qcow2", or added.
func SidecarPath(output string) string {
	return strings.TrimSuffix(output, ".qcow2") + ".json"
}

// ReadManifest reads a manifest written by Build.
func ReadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// Build builds the image o describes. It needs root. Progress and timings go
// to o.Log. On failure nothing is left at o.Output or its sidecar (an
// existing image there is kept), and the work directory is removed unless
// o.KeepWorkDir.
func Build(ctx context.Context, o Options) (*Manifest, error) {
	b := &builder{
		run:       o.Runner,
		log:       o.Log,
		euid:      os.Geteuid,
		lookPath:  exec.LookPath,
		mountinfo: func() (string, error) { b, err := os.ReadFile("/proc/self/mountinfo"); return string(b), err },
		now:       time.Now,
		pid:       os.Getpid(),
	}
	if b.run == nil {
		b.run = sys.Exec{}
	}
	if b.log == nil {
		b.log = io.Discard
	}
	return b.build(ctx, o)
}

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

// withDefaults fills in o's empty fields.
func (o Options) withDefaults() Options {
	if o.Mirror == "" {
		o.Mirror = DefaultMirror
	}
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir
	}
	if o.DiskSize == 0 {
		o.DiskSize = DefaultDiskSize
	}
	if o.ESPSize == 0 {
		o.ESPSize = DefaultESPSize
	}
	if o.Hostname == "" {
		o.Hostname = DefaultHostname
	}
	return o
}

var (
	uuidPattern     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	hostnamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	packagePattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
)

// validate checks o (with defaults) and returns its distro, layout, and every
// problem found, joined.
func validate(o Options) (distro, Layout, error) {
	var errs []error
	d, err := lookupDistro(o.Distro)
	if err != nil {
		errs = append(errs, err)
	}
	if o.Output == "" {
		errs = append(errs, errors.New("output: no image path given"))
	} else if strings.HasSuffix(o.Output, "/") {
		errs = append(errs, fmt.Errorf("output %q: a directory, want a file", o.Output))
	}
	for _, m := range []struct{ name, url string }{{"mirror", o.Mirror}, {"security mirror", o.SecurityMirror}} {
		if m.url == "" {
			continue
		}
		u, err := url.Parse(m.url)
		if err != nil || !slices.Contains([]string{"http", "https", "file"}, u.Scheme) || (u.Scheme != "file" && u.Host == "") {
			errs = append(errs, fmt.Errorf("%s %q: want an http, https or file URL", m.name, m.url))
		}
	}
	l, err := newLayout(o.DiskSize, o.ESPSize)
	if err != nil {
		errs = append(errs, err)
	}
	if o.RootUUID != "" && !uuidPattern.MatchString(o.RootUUID) {
		errs = append(errs, fmt.Errorf("root UUID %q: want a lower-case UUID", o.RootUUID))
	}
	if !hostnamePattern.MatchString(o.Hostname) {
		errs = append(errs, fmt.Errorf("hostname %q: want a lower-case host name label", o.Hostname))
	}
	for _, p := range o.Packages {
		if !packagePattern.MatchString(p) {
			errs = append(errs, fmt.Errorf("package %q: not a Debian package name", p))
		}
	}
	for _, a := range o.KernelArgs {
		if a == "" || strings.ContainsAny(a, " \t\n") {
			errs = append(errs, fmt.Errorf("kernel argument %q: want one word", a))
		}
	}
	return d, l, errors.Join(errs...)
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
