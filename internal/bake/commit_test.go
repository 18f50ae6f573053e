package bake

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/atomicfile"
	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/sbom"
	"github.com/kubebake/kubebake/internal/testutil"
)

// commitOnce writes content as a temporary image beside image, as Build
// does, and commits it with its manifest and SBOM.
func commitOnce(t *testing.T, dir string, content []byte) {
	t.Helper()
	image, mf := filepath.Join(dir, "node.qcow2"), filepath.Join(dir, "manifest.json")
	atomicfile.RemoveLeftovers(image)
	f, err := atomicfile.CreateTemp(image)
	require.NoError(t, err)
	_, err = f.Write(content)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	sum, size, err := manifest.FileSHA256(f.Name())
	require.NoError(t, err)
	doc, err := sbom.Build(sbom.Meta{Name: "node", File: "node.qcow2", SHA256: sum, Tool: "kubebake-test"}, sbom.Inventory{})
	require.NoError(t, err)
	require.NoError(t, commit(f.Name(), image, mf, manifest.Manifest{Name: "node", Image: "node.qcow2", SHA256: sum, Size: size, SBOM: "node.spdx.json"}, doc))
}

// TestCommitKilled kills a build at many points of putting its image,
// SBOM and manifest in place (kill -9): a manifest or an SBOM, when there
// is one, always describes the image beside it, and the next build leaves
// exactly its image, SBOM and manifest.
func TestCommitKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills writers")
	}
	contents := [2][]byte{bytes.Repeat([]byte("a"), 1<<20), bytes.Repeat([]byte("b"), 3<<19)}
	if dir := os.Getenv("KUBEBAKE_COMMIT_LOOP"); dir != "" {
		for i := 0; ; i++ {
			commitOnce(t, dir, contents[i%2])
		}
	}
	dir := t.TempDir()
	commitOnce(t, dir, contents[0])
	withManifest := 0
	for i := 0; i < 25; i++ {
		testutil.KillAfter(t, "TestCommitKilled", time.Duration(30+i*13)*time.Millisecond, "KUBEBAKE_COMMIT_LOOP="+dir)
		imageSum, _, err := manifest.FileSHA256(filepath.Join(dir, "node.qcow2"))
		require.NoError(t, err)
		if doc, err := os.ReadFile(filepath.Join(dir, "node.spdx.json")); err == nil {
			_, root, _, err := sbom.Read(doc)
			require.NoError(t, err, "kill %d: the SBOM is whole", i)
			assert.Equal(t, imageSum, root.SHA256, "kill %d: the SBOM describes the image beside it", i)
		} else {
			require.ErrorIs(t, err, os.ErrNotExist)
		}
		b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if os.IsNotExist(err) {
			continue // killed between the old manifest's removal and the new one
		}
		require.NoError(t, err)
		withManifest++
		var m manifest.Manifest
		require.NoError(t, json.Unmarshal(b, &m), "kill %d: the manifest is whole", i)
		sum, _, err := manifest.FileSHA256(filepath.Join(dir, m.Image))
		require.NoError(t, err)
		assert.Equal(t, m.SHA256, sum, "kill %d: the manifest describes the image beside it", i)
	}
	t.Logf("%d of 25 kills left a manifest", withManifest)
	commitOnce(t, dir, []byte("last"))
	assert.Equal(t, []string{"manifest.json", "node.qcow2", "node.spdx.json"}, testutil.DirNames(t, dir), "the next build leaves nothing else")
}

// TestBuildRemovesKilledBuildsLeftovers: a build removes the work directory
// and temporary image that a killed build left in the output directory,
// and keeps a running build's.
func TestBuildRemovesKilledBuildsLeftovers(t *testing.T) {
	t.Parallel()
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	pid := strconv.Itoa(dead.Process.Pid)
	out := t.TempDir()
	stale := []string{
		filepath.Join(out, ".kubebake-build.tmp-"+pid+"-1"),
		filepath.Join(out, ".debian-13-containerd.qcow2.tmp-"+pid+"-2"),
	}
	live := filepath.Join(out, ".kubebake-build.tmp-"+strconv.Itoa(os.Getpid())+"-3")
	require.NoError(t, os.MkdirAll(filepath.Join(stale[0], "root"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(stale[0], "overlay.qcow2"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(stale[1], []byte("x"), 0o644))
	require.NoError(t, os.MkdirAll(live, 0o755))

	fb := filepath.Join(t.TempDir(), "kubebake-firstboot")
	require.NoError(t, os.WriteFile(fb, []byte("x"), 0o755))
	base := filepath.Join(t.TempDir(), "base.qcow2")
	require.NoError(t, os.WriteFile(base, []byte("not an image"), 0o644))
	_, err := Build(context.Background(), Options{
		Recipe: "debian-13-containerd", Base: base, OutDir: out, Runner: &failingRunner{fail: "qemu-img"},
		Inputs: map[string]string{"kubebake-firstboot": fb},
	})
	require.Error(t, err)
	for _, p := range stale {
		assert.NoFileExists(t, p)
		assert.NoDirExists(t, p)
	}
	assert.DirExists(t, live, "a running build's work directory stays")
}

// TestCommitImageReadable: the committed image is 0644 like kubebake
// base's, although its temporary file was created 0600, so that a
// hypervisor running as its own user can read it.
func TestCommitImageReadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	commitOnce(t, dir, []byte("image"))
	st, err := os.Stat(filepath.Join(dir, "node.qcow2"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
}
