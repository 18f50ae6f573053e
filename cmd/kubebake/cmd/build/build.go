// Package build is `kubebake build`: bake a node image from a recipe and a
// base image, without Packer.
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubebake/kubebake/internal/bake"
	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/internal/diskformat"
	"github.com/kubebake/kubebake/recipes"
)

type flags struct {
	out, base, mode, workDir                 string
	format, name                             string
	kubernetesDir, criDockerdDir, runtimeDir string
	firstboot                                string
	accel, serialLog                         string
}

// NewCommand returns the build command.
func NewCommand(stdout, stderr io.Writer) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "build RECIPE -o OUTDIR --base IMAGE",
		Short: "Bake a node image from a recipe and a base image",
		Long: "build applies a recipe's plan to a copy of a base image — in chroot mode directly on this\n" +
			"machine's filesystem (needs root; the fast path without KVM), in vm mode by booting the base\n" +
			"under QEMU and provisioning it over SSH as an ephemeral build user (the path for any cloud\n" +
			"image) — and writes OUTDIR/NAME.qcow2 (compressed) and OUTDIR/manifest.json, both atomically,\n" +
			"printing each step with its time.",
		Example: "  kubebake build debian-13-containerd --base base.qcow2 -o out/ \\\n" +
			"      --kubernetes-binaries-dir _build/k8s/v1.36.3/bin --firstboot-binary bin/kubebake-firstboot",
		Args:              cli.ExactArgs(1),
		ValidArgsFunction: cli.CompleteRecipes,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.out == "" || f.base == "" {
				return cli.Usage(errors.New("build: -o OUTDIR and --base IMAGE are required"))
			}
			if f.mode != bake.ModeChroot && f.mode != bake.ModeVM {
				return cli.Usage(fmt.Errorf("build: --mode must be chroot or vm, got %q", f.mode))
			}
			return Run(cmd.Context(), stdout, args[0], f)
		},
	}
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "directory for NAME.qcow2 and manifest.json")
	cmd.Flags().StringVar(&f.base, "base", "", "base image (qcow2 or raw), e.g. from kubebake base")
	cmd.Flags().StringVar(&f.mode, "mode", bake.ModeChroot, "chroot (provision the filesystem here) or vm (boot it under QEMU)")
	cmd.Flags().StringVar(&f.name, "name", "", "image file name template, e.g. '{{.Recipe}}-{{.KubernetesVersion}}-{{.Date}}-{{.ShortDigest}}' (also .Runtime, .Arch, .Distro, .Release, .Time); the manifest is then NAME.manifest.json")
	cmd.Flags().StringVar(&f.format, "format", "qcow2", "image format: "+strings.Join(diskformat.Names(), ", ")+" (vmdk is streamOptimized, vhd fixed)")
	cmd.Flags().StringVar(&f.workDir, "work-dir", "", "directory for temporary files (default: OUTDIR)")
	cmd.Flags().StringVar(&f.kubernetesDir, "kubernetes-binaries-dir", "", "directory of kubeadm, kubelet, kubectl, crictl for kubernetes.source local")
	cmd.Flags().StringVar(&f.criDockerdDir, "cri-dockerd-dir", "", "directory of cri-dockerd for runtime.criDockerd.source local")
	cmd.Flags().StringVar(&f.runtimeDir, "runtime-dir", "", "directory of the runtime's binaries (crio and pinns) for runtime.source local")
	cmd.Flags().StringVar(&f.firstboot, "firstboot-binary", "", "kubebake-firstboot for the image (default: beside this kubebake)")
	cmd.Flags().StringVar(&f.accel, "accel", "auto", "vm mode: accelerator auto (KVM when it works, else TCG), kvm or tcg")
	cmd.Flags().StringVar(&f.serialLog, "serial-log", "", "vm mode: keep the machine's serial console in this file")
	_ = cmd.RegisterFlagCompletionFunc("mode", cli.CompleteValues(bake.ModeChroot, bake.ModeVM))
	_ = cmd.RegisterFlagCompletionFunc("format", cli.CompleteValues(diskformat.Names()...))
	_ = cmd.RegisterFlagCompletionFunc("accel", cli.CompleteValues("auto", "kvm", "tcg"))
	return cmd
}

// Run bakes the image.
func Run(ctx context.Context, stdout io.Writer, recipe string, f *flags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	fb := f.firstboot
	if fb == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		fb = filepath.Join(filepath.Dir(exe), "kubebake-firstboot")
	}
	if _, err := os.Stat(fb); err != nil {
		return fmt.Errorf("kubebake-firstboot binary: %w (build it with make build, or pass --firstboot-binary)", err)
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
			return err
		}
		overlays = append(overlays, o)
	}
	res, err := bake.Build(ctx, bake.Options{
		Recipe: recipe, Base: f.base, OutDir: f.out, Mode: f.mode, WorkDir: f.workDir, Format: f.format, Name: f.name,
		Overlays: overlays,
		Inputs:   map[string]string{"kubebake-firstboot": fb},
		Progress: stdout,
		VM:       bake.VMOptions{Accel: f.accel, SerialLog: abs(f.serialLog)},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "kubebake: image %s (%d bytes, sha256 %s)\nkubebake: manifest %s\n", res.Image, res.M.Size, res.M.SHA256, res.Manifest)
	return nil
}
