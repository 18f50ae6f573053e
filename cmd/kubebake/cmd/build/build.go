// Package build is `kubebake build`: bake a node image from a recipe and a
// base image, without Packer.
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubebake/kubebake/internal/bake"
	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/internal/diskformat"
	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/recipes"
)

type flags struct {
	dest, output, base, mode, workDir        string
	format, name, compression                string
	kubernetesDir, criDockerdDir, runtimeDir string
	firstboot                                string
	accel, serialLog                         string
	// version is kubebake's own, the SBOM's creator.
	version string
	// comp is --compression parsed.
	comp diskformat.Compression
}

// NewCommand returns the build command. Progress (each step with its time,
// qemu-img's meter on a terminal) goes to stderr, log lines to log, the
// result to stdout.
func NewCommand(version string, stdout, stderr io.Writer, log *slog.Logger) *cobra.Command {
	f := &flags{version: version}
	cmd := &cobra.Command{
		Use:   "build RECIPE --dest OUTDIR --base IMAGE",
		Short: "Bake a node image from a recipe and a base image",
		Long: "build applies a recipe's plan to a copy of a base image — in chroot mode directly on this\n" +
			"machine's filesystem (needs root; the fast path without KVM), in vm mode by booting the base\n" +
			"under QEMU and provisioning it over SSH as an ephemeral build user (the path for any cloud\n" +
			"image) — and writes OUTDIR/NAME.qcow2 (compressed: --compression) and OUTDIR/manifest.json, both atomically,\n" +
			"printing each step with its time on standard error. It reports the image (path, manifest,\n" +
			"size, sha256, plan digest) on standard output as text, or with -o json or yaml.",
		Example: "  kubebake build debian-13-containerd --base base.qcow2 --dest out/ \\\n" +
			"      --kubernetes-binaries-dir _build/k8s/v1.36.3/bin --firstboot-binary bin/kubebake-firstboot\n" +
			"  kubebake build debian-13-containerd --base base.qcow2 -d out/ -o json | jq -r .image",
		Args:              cli.ExactArgs(1),
		ValidArgsFunction: cli.CompleteRecipes,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cli.CheckOutput(f.output, true); err != nil {
				return err
			}
			if f.dest == "" || f.base == "" {
				return cli.Usage(errors.New("build: --dest OUTDIR and --base IMAGE are required"))
			}
			if f.mode != bake.ModeChroot && f.mode != bake.ModeVM {
				return cli.Usage(fmt.Errorf("build: --mode must be chroot or vm, got %q", f.mode))
			}
			if err := f.parseCompression(); err != nil {
				return cli.Usage(err)
			}
			res, err := Run(cmd.Context(), stderr, log, args[0], f)
			if err != nil {
				return err
			}
			return cli.Print(stdout, f.output, res, res.text)
		},
	}
	cli.DestFlag(cmd, &f.dest, "", "directory for NAME.qcow2 and manifest.json")
	cli.OutputFlag(cmd, &f.output)
	cmd.Flags().StringVar(&f.base, "base", "", "base image (qcow2 or raw), e.g. from kubebake base")
	cmd.Flags().StringVar(&f.mode, "mode", bake.ModeChroot, "chroot (provision the filesystem here) or vm (boot it under QEMU)")
	cmd.Flags().StringVar(&f.name, "name", "", "image file name template, e.g. '{{.Recipe}}-{{.KubernetesVersion}}-{{.Date}}-{{.ShortDigest}}' (also .Runtime, .Arch, .Distro, .Release, .Time); the manifest is then NAME.manifest.json")
	cmd.Flags().StringVar(&f.format, "format", "qcow2", "image format: "+strings.Join(diskformat.Names(), ", ")+" (vmdk is streamOptimized, vhd fixed)")
	cmd.Flags().StringVar(&f.compression, "compression", string(diskformat.DefaultCompression), "qcow2 compression: zlib (every QEMU and qcow2 reader reads it), zstd (smaller, faster to write and read; needs QEMU 5.1 or later to read) or none")
	cmd.Flags().StringVar(&f.workDir, "work-dir", "", "directory for temporary files (default: the --dest directory)")
	cmd.Flags().StringVar(&f.kubernetesDir, "kubernetes-binaries-dir", "", "directory of kubeadm, kubelet, kubectl, crictl for kubernetes.source local")
	cmd.Flags().StringVar(&f.criDockerdDir, "cri-dockerd-dir", "", "directory of cri-dockerd for runtime.criDockerd.source local")
	cmd.Flags().StringVar(&f.runtimeDir, "runtime-dir", "", "directory of the runtime's binaries (crio and pinns) for runtime.source local")
	cmd.Flags().StringVar(&f.firstboot, "firstboot-binary", "", "kubebake-firstboot for the image (default: beside this kubebake)")
	cmd.Flags().StringVar(&f.accel, "accel", "auto", "vm mode: accelerator auto (KVM when it works, else TCG), kvm or tcg")
	cmd.Flags().StringVar(&f.serialLog, "serial-log", "", "vm mode: keep the machine's serial console in this file")
	_ = cmd.RegisterFlagCompletionFunc("mode", cli.CompleteValues(bake.ModeChroot, bake.ModeVM))
	_ = cmd.RegisterFlagCompletionFunc("format", cli.CompleteValues(diskformat.Names()...))
	_ = cmd.RegisterFlagCompletionFunc("compression", cli.CompleteValues(diskformat.Compressions()...))
	_ = cmd.RegisterFlagCompletionFunc("accel", cli.CompleteValues("auto", "kvm", "tcg"))
	return cmd
}

// parseCompression reads --compression into f.comp; zstd with a --format
// other than qcow2 is refused.
func (f *flags) parseCompression() error {
	c, err := diskformat.ParseCompression("--compression", f.compression)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if format, ok := diskformat.Lookup(f.format); ok {
		if err := format.CheckCompression(c); err != nil {
			return fmt.Errorf("build: --compression %s with --format %s: %w", c, f.format, err)
		}
	}
	f.comp = c
	return nil
}

// Result is what build reports.
type Result struct {
	// Name is the image's name (the recipe's, or --name's).
	Name string `json:"name"`
	// Image and Manifest are the files written.
	Image    string `json:"image"`
	Manifest string `json:"manifest"`
	Format   string `json:"format"`
	// Size is the image's size in bytes, SHA256 its digest.
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
	PlanDigest string `json:"planDigest"`
	// SBOM is the image's SPDX 2.3 SBOM beside it.
	SBOM string `json:"sbom"`
	// ManifestData is the manifest itself.
	ManifestData manifest.Manifest `json:"manifestData"`
}

// newResult describes what bake.Build produced.
func newResult(res *bake.Result) *Result {
	return &Result{
		Name: res.M.Name, Image: res.Image, Manifest: res.Manifest, Format: res.M.Format,
		Size: res.M.Size, SHA256: res.M.SHA256, PlanDigest: res.M.PlanDigest, ManifestData: res.M,
		SBOM: filepath.Join(filepath.Dir(res.Manifest), res.M.SBOM),
	}
}

func (r *Result) text(w io.Writer) error {
	_, err := fmt.Fprintf(w, "image %s (%s, %d bytes, sha256 %s)\nmanifest %s\nsbom %s\n", r.Image, r.Format, r.Size, r.SHA256, r.Manifest, r.SBOM)
	return err
}

// Run bakes the image; progress goes to stderr, the host commands are
// logged to log.
func Run(ctx context.Context, stderr io.Writer, log *slog.Logger, recipe string, f *flags) (*Result, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	fb := f.firstboot
	if fb == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		fb = filepath.Join(filepath.Dir(exe), "kubebake-firstboot")
	}
	if _, err := os.Stat(fb); err != nil {
		return nil, fmt.Errorf("kubebake-firstboot binary: %w (build it with make build, or pass --firstboot-binary)", err)
	}
	abs := func(p string) string {
		if p == "" {
			return ""
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		return a
	}
	var overlays []recipes.Overlay
	for _, d := range []struct{ flag, path, dir string }{
		{"--kubernetes-binaries-dir", "kubernetes.local.dir", f.kubernetesDir},
		{"--cri-dockerd-dir", "runtime.criDockerd.dir", f.criDockerdDir},
		{"--runtime-dir", "runtime.local.dir", f.runtimeDir},
	} {
		o, err := recipes.FieldOverlay(d.flag, recipes.Field{Path: d.path, Value: abs(d.dir)})
		if err != nil {
			return nil, err
		}
		overlays = append(overlays, o)
	}
	res, err := bake.Build(ctx, bake.Options{
		Recipe: recipe, Base: f.base, OutDir: f.dest, Mode: f.mode, WorkDir: f.workDir, Format: f.format, Name: f.name,
		Compression: f.comp, Overlays: overlays,
		Inputs:   map[string]string{"kubebake-firstboot": fb},
		Progress: stderr,
		Terminal: cli.IsTerminal(stderr),
		Version:  f.version,
		Runner:   cli.Runner(log, stderr, cli.LevelTrace),
		VM:       bake.VMOptions{Accel: f.accel, SerialLog: abs(f.serialLog)},
	})
	if err != nil {
		return nil, err
	}
	return newResult(res), nil
}
