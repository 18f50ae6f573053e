package bake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/sys"
)

// failingRunner fails the command named fail and records the others.
type failingRunner struct {
	fail string
	ran  []string
}

func (f *failingRunner) Run(_ context.Context, c sys.Cmd) ([]byte, error) {
	f.ran = append(f.ran, c.String())
	if c.Name == f.fail {
		return []byte("qemu-img: Could not open base.qcow2"), &sys.RunError{Command: c.String(), Output: []byte("qemu-img: Could not open base.qcow2"), Inner: errors.New("exit status 1")}
	}
	return nil, nil
}

func TestBuildFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	fb := filepath.Join(t.TempDir(), "kubebake-firstboot")
	require.NoError(t, os.WriteFile(fb, []byte("x"), 0o755))
	r := &failingRunner{fail: "qemu-img"}
	base := filepath.Join(t.TempDir(), "base.qcow2")
	require.NoError(t, os.WriteFile(base, []byte("not an image"), 0o644))
	_, err := Build(context.Background(), Options{
		Recipe: "debian-13-containerd", Base: base, OutDir: out, Runner: r,
		Inputs: map[string]string{"kubebake-firstboot": fb},
	})
	require.ErrorContains(t, err, "qemu-img convert -O raw "+base)
	require.ErrorContains(t, err, "Could not open base.qcow2")
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Empty(t, entries, "no image, manifest or work directory is left")
}

func TestReadRuntimeImages(t *testing.T) {
	dir := t.TempDir()
	imgs, err := readRuntimeImages(filepath.Join(dir, "none.json"))
	require.NoError(t, err, "a plan without an images step records nothing")
	assert.Nil(t, imgs)

	// What crictl 1.36 prints for a pinned image imported from an archive.
	rec := filepath.Join(dir, "images.json")
	require.NoError(t, os.WriteFile(rec, []byte(`{"images": [{"id": "sha256:fe2a", "repoTags": ["registry.k8s.io/etcd:3.6.8-0"],
	  "repoDigests": ["registry.k8s.io/etcd@sha256:97e2"], "size": "16134144", "uid": null, "username": "", "spec": null, "pinned": true}]}`), 0o644))
	imgs, err = readRuntimeImages(rec)
	require.NoError(t, err)
	assert.Equal(t, []manifest.RuntimeImage{{ID: "sha256:fe2a", RepoTags: []string{"registry.k8s.io/etcd:3.6.8-0"},
		RepoDigests: []string{"registry.k8s.io/etcd@sha256:97e2"}, Size: 16134144, Pinned: true}}, imgs)

	require.NoError(t, os.WriteFile(rec, []byte("crictl: connection refused\n"), 0o644))
	_, err = readRuntimeImages(rec)
	require.ErrorContains(t, err, "/etc/kubebake/images.json")
}

// TestBuildPreconditionsFirst: a missing base image is refused before the
// output directory is created.
func TestBuildPreconditionsFirst(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "out")
	_, err := Build(context.Background(), Options{Recipe: "debian-13-containerd", Base: filepath.Join(t.TempDir(), "missing.qcow2"), OutDir: out, Mode: ModeVM})
	require.ErrorContains(t, err, "base image: stat ")
	assert.NoDirExists(t, out)
	_, err = Build(context.Background(), Options{Recipe: "debian-13-containerd", Base: "x", OutDir: out, Format: "vdi"})
	require.ErrorContains(t, err, `format "vdi": want one of ova, qcow2, raw, vhd, vhdx, vmdk`)
	assert.NoDirExists(t, out)
}
