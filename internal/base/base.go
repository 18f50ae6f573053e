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
// qcow2, beside a JSON manifest that says what is in it. FindRoot reads the
// same layout back: where the root partition of a raw disk is (kubebake
// build's chroot mode and kubebake test's disk checks use it).
package base

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"

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
