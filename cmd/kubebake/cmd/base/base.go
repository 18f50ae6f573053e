// Package base is `kubebake base`: build a bootable cloud-style base image
// from Debian packages alone.
package base

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubebake/kubebake/internal/base"
	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/internal/manifest"
)

// flags are the command's flags.
type flags struct {
	dest, output   string
	mirror         string
	securityMirror string
	noUpdates      bool
	cacheDir       string
	refreshCache   bool
	workDir        string
	keepWorkDir    bool
	size           sizeValue
	espSize        sizeValue
	packages       []string
	kernelArgs     []string
	hostname       string
}

// NewCommand returns the base command. Progress goes to stderr, log lines
// to log (at debug level, -v, with the output of debootstrap, mkfs.ext4
// and qemu-img), the result to stdout.
func NewCommand(stdout, stderr io.Writer, log *slog.Logger) *cobra.Command {
	cmd, _ := newCommand(stdout, stderr, log)
	return cmd
}

// newCommand returns the base command and the flags it fills in.
func newCommand(stdout, stderr io.Writer, log *slog.Logger) (*cobra.Command, *flags) {
	f := &flags{size: base.DefaultDiskSize, espSize: base.DefaultESPSize}
	cmd := &cobra.Command{
		Use:   "base DISTRO --dest OUT.qcow2",
		Short: "Build a bootable cloud-style base image from Debian packages only",
		Long: "base builds a UEFI-bootable qcow2 image of DISTRO (" + strings.Join(base.Distros(), ", ") + ")\n" +
			"from a Debian mirror alone: debootstrap --variant=minbase with the cloud kernel, cloud-init\n" +
			"(NoCloud, ConfigDrive) and OpenSSH; a GPT disk with an EFI System Partition holding a\n" +
			"unified kernel image (console on ttyS0) and an ext4 root found by UUID. No loop devices\n" +
			"are used. The image has no machine ID, SSH host keys or root password; cloud-init sets\n" +
			"them up at first boot. OUT.json beside the image describes it (kernel, root UUID,\n" +
			"partitions, sizes). Downloaded packages are cached in --cache-dir, so a second build\n" +
			"downloads nothing. Needs root (debootstrap, chroot). -v shows the output of debootstrap,\n" +
			"mkfs.ext4 and qemu-img; -o json or yaml reports the image as one document.",
		Example: "  sudo kubebake base debian-13 --dest out/debian-13.qcow2\n" +
			"  sudo kubebake base debian-12 --mirror http://mirror.internal/debian --security-mirror '' \\\n" +
			"      --no-updates --size 8G -d out/debian-12.qcow2 -o json",
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cli.CheckOutput(f.output, true); err != nil {
				return err
			}
			if f.dest == "" {
				return cli.Usage(errors.New("base: --dest OUT.qcow2 is required"))
			}
			if !isDistro(args[0]) {
				return cli.Usage(fmt.Errorf("base: unknown distro %q (want %s)", args[0], strings.Join(base.Distros(), " or ")))
			}
			res, err := run(cmd.Context(), f.options(args[0], log, stderr))
			if err != nil {
				return err
			}
			return cli.Print(stdout, f.output, res, res.text)
		},
	}
	fl := cmd.Flags()
	cli.DestFlag(cmd, &f.dest, "qcow2", "qcow2 image to write (replaced); its manifest goes to OUT.json")
	cli.OutputFlag(cmd, &f.output)
	fl.StringVar(&f.mirror, "mirror", base.DefaultMirror, "Debian mirror to install from and to put into apt's sources")
	fl.StringVar(&f.securityMirror, "security-mirror", base.DefaultSecurityMirror, "Debian security mirror for apt's sources ('' leaves it out)")
	fl.BoolVar(&f.noUpdates, "no-updates", false, "leave SUITE-updates out of apt's sources")
	fl.StringVar(&f.cacheDir, "cache-dir", base.DefaultCacheDir, "directory for the downloaded package tarballs")
	fl.BoolVar(&f.refreshCache, "refresh-cache", false, "download the packages again even when cached")
	fl.StringVar(&f.workDir, "work-dir", "", "where to make the temporary build directory (default: the system's temporary directory)")
	fl.BoolVar(&f.keepWorkDir, "keep-work-dir", false, "keep the build directory, for debugging")
	fl.Var(&f.size, "size", "disk's virtual size (e.g. 4G, 8192M); the root partition takes all but the ESP")
	fl.Var(&f.espSize, "esp-size", "EFI System Partition's size")
	fl.StringSliceVar(&f.packages, "package", nil, "more packages to install (repeat, or comma-separated)")
	fl.StringArrayVar(&f.kernelArgs, "kernel-arg", nil, "argument to add to the kernel command line (repeat)")
	fl.StringVar(&f.hostname, "hostname", base.DefaultHostname, "/etc/hostname placeholder (cloud-init sets the real one)")
	return cmd, f
}

// isDistro reports whether name is a supported distro.
func isDistro(name string) bool {
	for _, d := range base.Distros() {
		if d == name {
			return true
		}
	}
	return false
}

// options turns the flags into base.Options. Progress goes to stderr; the
// host commands are logged at debug level and, base's long commands being
// worth watching, their output streams to stderr from debug level on (-v).
func (f *flags) options(distro string, log *slog.Logger, stderr io.Writer) base.Options {
	return base.Options{
		Distro:         distro,
		Output:         f.dest,
		Mirror:         f.mirror,
		SecurityMirror: f.securityMirror,
		NoUpdates:      f.noUpdates,
		CacheDir:       f.cacheDir,
		RefreshCache:   f.refreshCache,
		WorkDir:        f.workDir,
		KeepWorkDir:    f.keepWorkDir,
		DiskSize:       int64(f.size),
		ESPSize:        int64(f.espSize),
		Packages:       f.packages,
		KernelArgs:     f.kernelArgs,
		Hostname:       f.hostname,
		Log:            stderr,
		Runner:         cli.Runner(log, stderr, slog.LevelDebug),
	}
}

// Result is what base reports.
type Result struct {
	// Image is the qcow2 image written.
	Image string `json:"image"`
	// Manifest is the manifest beside it.
	Manifest string `json:"manifest"`
	// Size is the image's size in bytes, SHA256 its digest.
	Size          int64  `json:"size"`
	SHA256        string `json:"sha256"`
	Distro        string `json:"distro"`
	Release       string `json:"release"`
	DebianVersion string `json:"debianVersion"`
	Kernel        string `json:"kernel"`
	RootUUID      string `json:"rootUUID"`
}

// newResult describes the image at image that m describes.
func newResult(image string, m *base.Manifest) (*Result, error) {
	sum, size, err := manifest.FileSHA256(image)
	if err != nil {
		return nil, err
	}
	return &Result{
		Image: image, Manifest: base.SidecarPath(image), Size: size, SHA256: sum,
		Distro: m.Distro, Release: m.Release, DebianVersion: m.DebianVersion, Kernel: m.Kernel, RootUUID: m.Root.UUID,
	}, nil
}

func (r *Result) text(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%s: %s %s (Debian %s, kernel %s), root UUID %s; manifest %s\n",
		r.Image, r.Distro, r.Release, r.DebianVersion, r.Kernel, r.RootUUID, r.Manifest)
	return err
}

// run builds the image and describes it.
func run(ctx context.Context, o base.Options) (*Result, error) {
	m, err := base.Build(ctx, o)
	if err != nil {
		return nil, err
	}
	return newResult(o.Output, m)
}

// sizeValue is a byte size flag: a number with an optional K, M, G or T
// suffix (powers of 1024, optionally followed by "iB" or "B").
type sizeValue int64

func (s *sizeValue) String() string { return formatSize(int64(*s)) }

func (s *sizeValue) Type() string { return "size" }

func (s *sizeValue) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = sizeValue(n)
	return nil
}

// sizeUnits are the suffixes parseSize takes, largest first.
var sizeUnits = []struct {
	suffix string
	shift  uint
}{{"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}}

// parseSize parses "4G", "4GiB", "512M", "1048576" and the like.
func parseSize(v string) (int64, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	s = strings.TrimSuffix(strings.TrimSuffix(s, "B"), "I")
	shift := uint(0)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, shift = rest, u.shift
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("invalid size %q (want e.g. 4G, 512M or a number of bytes)", v)
	}
	return n << shift, nil
}

// formatSize writes n with the largest unit that divides it.
func formatSize(n int64) string {
	for _, u := range sizeUnits {
		if n > 0 && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
