package qemu

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmware/govmomi/ovf"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/testutil"
)

// TestConvertImageOVA: `format = "ova"` packs the overlay with the real
// qemu-img into VM_NAME.ova, whose descriptor (first in the archive) names
// the guest OS the provisioner reported and the disk's virtual size, and
// leaves nothing else in the output directory.
func TestConvertImageOVA(t *testing.T) {
	bin := testutil.Tool(t, "qemu-img")
	overlay := filepath.Join(t.TempDir(), "disk.qcow2")
	b, err := exec.Command(bin, "create", "-q", "-f", "qcow2", overlay, "32M").CombinedOutput()
	require.NoError(t, err, "%s", b)
	out := filepath.Join(t.TempDir(), "out")
	tr := true
	c := &Config{OutputDirectory: out, VMName: "node", Format: "ova", Compress: &tr}
	state, _ := newState(t, c, &hostDriver{qemuImg: bin, runner: sys.Exec{}})
	state.Put(keyOverlay, overlay)
	state.Put(keyImageInfo, api.ImageInfo{Distro: "ubuntu", Release: "24.04", Arch: "amd64"})
	s := &stepConvertImage{config: c}
	require.Equal(t, multistep.ActionContinue, s.Run(context.Background(), state), "%v", state.Get("error"))
	s.Cleanup(state)
	image := filepath.Join(out, "node.ova")
	assert.Equal(t, image, state.Get(keyOutput))
	assert.Equal(t, []string{"node.ova"}, testutil.DirNames(t, out))

	f, err := os.Open(image)
	require.NoError(t, err)
	defer f.Close()
	r := tar.NewReader(f)
	var names []string
	var env *ovf.Envelope
	for {
		hdr, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		names = append(names, hdr.Name)
		if len(names) == 1 {
			env, err = ovf.Unmarshal(r)
			require.NoError(t, err)
		}
	}
	assert.Equal(t, []string{"node.ovf", "node-disk1.vmdk", "node.mf"}, names)
	require.NotNil(t, env.VirtualSystem)
	require.Len(t, env.VirtualSystem.OperatingSystem, 1)
	assert.Equal(t, int16(94), env.VirtualSystem.OperatingSystem[0].ID, "Ubuntu 64-bit, from the image info")
	require.NotNil(t, env.Disk)
	require.Len(t, env.Disk.Disks, 1)
	assert.Equal(t, "33554432", env.Disk.Disks[0].Capacity)
}
