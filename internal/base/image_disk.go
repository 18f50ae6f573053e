package base

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/diskfs/go-diskfs/partition/gpt"

	"github.com/kubebake/kubebake/internal/atomicfile"
	"github.com/kubebake/kubebake/internal/sys"
)

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
// rename over path, after removing those a killed build left there.
func tempBeside(path string) (string, error) {
	atomicfile.RemoveLeftovers(path)
	f, err := atomicfile.CreateTemp(path)
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
	if n, ok := allocatedBytes(fi); ok {
		return n, nil
	}
	return fi.Size(), nil
}
