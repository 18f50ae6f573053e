package bake

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmware/govmomi/ovf"

	"github.com/kubebake/kubebake/internal/diskformat"
	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/testutil"
	"github.com/kubebake/kubebake/recipes/render"
)

// TestPublishOVA: `kubebake build --format ova` publishes through the same
// code as the disk formats, with the real qemu-img: the image is
// RECIPE.ova, the manifest describes it, its descriptor (first in the
// archive) declares the recipe's distro and the disk's size, and no
// temporary file or directory is left.
func TestPublishOVA(t *testing.T) {
	testutil.Tool(t, "qemu-img")
	p, _, err := render.Load("debian-13-containerd")
	require.NoError(t, err)
	format, ok := diskformat.Lookup("ova")
	require.True(t, ok)
	base := filepath.Join(t.TempDir(), "base.qcow2")
	require.NoError(t, os.WriteFile(base, []byte("base"), 0o644))
	out := t.TempDir()
	o := Options{Base: base, OutDir: out, Runner: sys.Exec{}, Mode: ModeChroot}
	res, err := publish(context.Background(), o, p, provisioned{disk: randomDisk(t, 2<<20), driver: "raw"}, format, nil, time.Now())
	require.NoError(t, err)

	assert.Equal(t, filepath.Join(out, "debian-13-containerd.ova"), res.Image)
	assert.Equal(t, "ova", res.M.Format)
	sum, size, err := manifest.FileSHA256(res.Image)
	require.NoError(t, err)
	assert.Equal(t, sum, res.M.SHA256)
	assert.Equal(t, size, res.M.Size)
	for _, name := range testutil.DirNames(t, out) {
		assert.False(t, strings.HasPrefix(name, "."), "temporary %s left", name)
	}

	f, err := os.Open(res.Image)
	require.NoError(t, err)
	defer f.Close()
	tr := tar.NewReader(f)
	var names []string
	var env *ovf.Envelope
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		names = append(names, hdr.Name)
		if len(names) == 1 {
			env, err = ovf.Unmarshal(tr)
			require.NoError(t, err)
		}
	}
	assert.Equal(t, []string{"debian-13-containerd.ovf", "debian-13-containerd-disk1.vmdk", "debian-13-containerd.mf"}, names)
	require.NotNil(t, env.VirtualSystem)
	require.Len(t, env.VirtualSystem.OperatingSystem, 1)
	assert.Equal(t, int16(96), env.VirtualSystem.OperatingSystem[0].ID, "Debian 64-bit")
	require.NotNil(t, env.Disk)
	require.Len(t, env.Disk.Disks, 1)
	assert.Equal(t, "2097152", env.Disk.Disks[0].Capacity)
}
