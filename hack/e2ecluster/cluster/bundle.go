package cluster

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/kubebake/kubebake/internal/apply"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// BundleOptions describe the bundle disk of nodes that are not baked.
type BundleOptions struct {
	// Recipe, KubernetesDir and Firstboot are what kubebake build takes.
	Recipe, KubernetesDir, Firstboot string
	// Disk is the raw ext4 image to write (replaced).
	Disk string
	// Runner runs mkfs.ext4 (default sys.Exec).
	Runner sys.Runner
}

// WriteBundleDisk renders the recipe and writes its plan, without the seal
// step, as a bundle on an ext4 disk labelled BundleLabel.
func WriteBundleDisk(ctx context.Context, o BundleOptions) error {
	if o.Runner == nil {
		o.Runner = sys.Exec{}
	}
	for _, f := range []*string{&o.KubernetesDir, &o.Firstboot} {
		if *f == "" {
			continue
		}
		abs, err := filepath.Abs(*f)
		if err != nil {
			return err
		}
		*f = abs
	}
	dirs, err := recipes.FieldOverlay("kubernetes binaries", recipes.Field{Path: "kubernetes.local.dir", Value: o.KubernetesDir})
	if err != nil {
		return err
	}
	p, _, err := render.Load(o.Recipe, dirs)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(filepath.Dir(o.Disk), ".bundle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := apply.WriteBundle(ctx, p, dir, BundleStage, map[string]string{"kubebake-firstboot": o.Firstboot}, "seal"); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	var size int64
	if err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if fi, err := d.Info(); err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		return nil
	}); err != nil {
		return err
	}
	// Room for ext4's own data, and for the steps' logs.
	size = (size*5/4 + 128<<20) &^ (1<<20 - 1)
	tmp := o.Disk + ".tmp"
	defer os.Remove(tmp)
	_ = os.Remove(tmp)
	if _, err := o.Runner.Run(ctx, sys.Command("mkfs.ext4", "-q", "-F", "-L", BundleLabel, "-d", dir, tmp, strconv.FormatInt(size>>10, 10)+"k")); err != nil {
		return err
	}
	return os.Rename(tmp, o.Disk)
}
