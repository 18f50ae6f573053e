// Package base is `kubebake base`: build a bootable cloud-style base image
// from Debian packages alone.
package base

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubebake/kubebake/internal/base"
	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/internal/sys"
)

// flags are the command's flags.
type flags struct {
	output         string
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
	verbose        bool
}

// NewCommand returns the base command.
func NewCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd, _ := newCommand(stdout, stderr)
	return cmd
}

// newCommand returns the base command and the flags it fills in.
func newCommand(stdout, stderr io.Writer) (*cobra.Command, *flags) {
	f := &flags{size: base.DefaultDiskSize, espSize: base.DefaultESPSize}
	cmd := &cobra.Command{
		Use:   "base DISTRO -o OUT.qcow2",
		Short: "Build a bootable cloud-style base image from Debian packages only",
		Long: "base builds a UEFI-bootable qcow2 image of DISTRO (" + strings.Join(base.Distros(), ", ") + ")\n" +
			"from a Debian mirror alone: debootstrap --variant=minbase with the cloud kernel, cloud-init\n" +
			"(NoCloud, ConfigDrive) and OpenSSH; a GPT disk with an EFI System Partition holding a\n" +
			"unified kernel image (console on ttyS0) and an ext4 root found by UUID. No loop devices\n" +
			"are used. The image has no machine ID, SSH host keys or root password; cloud-init sets\n" +
			"them up at first boot. OUT.json beside the image describes it (kernel, root UUID,\n" +
			"partitions, sizes). Downloaded packages are cached in --cache-dir, so a second build\n" +
			"downloads nothing. Needs root (debootstrap, chroot).",
		Example: "  sudo kubebake base debian-13 -o out/debian-13.qcow2\n" +
			"  sudo kubebake base debian-12 --mirror http://mirror.internal/debian --security-mirror '' \\\n" +
			"      --no-updates --size 8G -o out/debian-12.qcow2",
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.output == "" {
				return cli.Usage(errors.New("base: -o OUT.qcow2 is required"))
			}
			if !isDistro(args[0]) {
				return cli.Usage(fmt.Errorf("base: unknown distro %q (want %s)", args[0], strings.Join(base.Distros(), " or ")))
			}
			return run(cmd, stdout, stderr, f.options(args[0], stderr))
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "", "qcow2 image to write (replaced); its manifest goes to OUT.json")
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
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "show the output of debootstrap, mkfs.ext4 and qemu-img")
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

// options turns the flags into base.Options.
func (f *flags) options(distro string, stderr io.Writer) base.Options {
	runner := sys.Exec{}
	if f.verbose {
		runner.Stream = stderr
	}
	return base.Options{
		Distro:         distro,
		Output:         f.output,
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
		Runner:         runner,
	}
}

// run builds the image and prints where it went.
func run(cmd *cobra.Command, stdout, _ io.Writer, o base.Options) error {
	m, err := base.Build(cmd.Context(), o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s %s (Debian %s, kernel %s), root UUID %s; manifest %s\n",
		o.Output, m.Distro, m.Release, m.DebianVersion, m.Kernel, m.Root.UUID, base.SidecarPath(o.Output))
	return nil
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
