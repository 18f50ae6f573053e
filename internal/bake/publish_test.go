package bake

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/diskformat"
	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/sbom"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/testutil"
	"github.com/kubebake/kubebake/recipes/render"
)

// straceRunner runs commands for real; with a fault set, qemu-img's convert
// runs under strace with the fault injected (strace -e inject=FAULT).
type straceRunner struct {
	strace, fault string
}

func (r straceRunner) Run(ctx context.Context, c sys.Cmd) ([]byte, error) {
	if r.fault != "" && c.Name == "qemu-img" && len(c.Args) > 0 && c.Args[0] == "convert" {
		c.Args = append([]string{"-f", "-qq", "-o", "/dev/null", "-e", "inject=" + r.fault, c.Name}, c.Args...)
		c.Name = r.strace
	}
	return sys.Exec{}.Run(ctx, c)
}

// randomDisk writes a raw disk of n random bytes (which compression cannot
// shrink) and returns its path.
func randomDisk(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "disk.raw")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// TestPublishFaults: when the real qemu-img fails while it writes the new
// image (ENOSPC or EIO injected into its writes or flushes, or a file
// system that is really full), the build fails naming qemu-img and the
// fault, the previous image, SBOM and manifest stay exactly as they were,
// and nothing is left beside them; once the fault is gone the next build
// leaves its own image, SBOM and manifest and nothing else.
func TestPublishFaults(t *testing.T) {
	testutil.Tool(t, "qemu-img")
	strace := testutil.Tool(t, "strace")
	p, _, err := render.Load("debian-13-containerd")
	require.NoError(t, err)
	format, ok := diskformat.Lookup("qcow2")
	require.True(t, ok)
	base := filepath.Join(t.TempDir(), "base.qcow2")
	require.NoError(t, os.WriteFile(base, []byte("base"), 0o644))
	small, large := randomDisk(t, 1<<20), randomDisk(t, 8<<20)

	tests := []struct {
		name  string
		fault string // injected into qemu-img convert; empty: a full tmpfs
		want  string
	}{
		{name: "write ENOSPC", fault: "pwrite64:error=ENOSPC:when=3+", want: "No space left on device"},
		{name: "write EIO", fault: "pwrite64:error=EIO:when=3+", want: "Input/output error"},
		{name: "flush EIO", fault: "fdatasync:error=EIO:when=1+", want: "Input/output error"},
		{name: "full file system", want: "No space left on device"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out string
			if tc.fault == "" {
				out = testutil.Tmpfs(t, "size=6m") // the old image fits, the new one does not
			} else {
				out = t.TempDir()
			}
			publishDisk := func(disk, fault string) (*Result, error) {
				o := Options{Base: base, OutDir: out, Runner: straceRunner{strace: strace, fault: fault}, Mode: ModeChroot}
				return publish(context.Background(), o, p, provisioned{disk: disk, driver: "raw", inventory: testInventory}, format, nil, time.Now())
			}
			old, err := publishDisk(small, "")
			require.NoError(t, err)
			oldManifest, err := os.ReadFile(old.Manifest)
			require.NoError(t, err)
			oldSBOM, err := os.ReadFile(filepath.Join(out, old.M.SBOM))
			require.NoError(t, err)

			newDisk := small
			if tc.fault == "" {
				newDisk = large
			}
			_, err = publishDisk(newDisk, tc.fault)
			require.Error(t, err)
			assert.ErrorContains(t, err, "qemu-img")
			assert.ErrorContains(t, err, tc.want)
			assertImagePair(t, out, old.Image)
			b, err := os.ReadFile(old.Manifest)
			require.NoError(t, err)
			assert.Equal(t, string(oldManifest), string(b), "the previous manifest is untouched")
			b, err = os.ReadFile(filepath.Join(out, old.M.SBOM))
			require.NoError(t, err)
			assert.Equal(t, string(oldSBOM), string(b), "the previous SBOM is untouched")

			if tc.fault == "" {
				newDisk = randomDisk(t, 2<<20) // room again: the failed write left nothing
			}
			res, err := publishDisk(newDisk, "")
			require.NoError(t, err)
			assert.Equal(t, old.Image, res.Image)
			assertImagePair(t, out, res.Image)
		})
	}
}

// assertImagePair checks that dir holds exactly an image, its SBOM and a
// manifest that describe it.
func assertImagePair(t *testing.T, dir, image string) {
	t.Helper()
	assert.Equal(t, []string{"debian-13-containerd.qcow2", "debian-13-containerd.spdx.json", "manifest.json"}, testutil.DirNames(t, dir),
		"nothing beside the image, its SBOM and its manifest")
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	require.NoError(t, err)
	var m manifest.Manifest
	require.NoError(t, json.Unmarshal(b, &m))
	sum, _, err := manifest.FileSHA256(image)
	require.NoError(t, err)
	assert.Equal(t, m.SHA256, sum, "the manifest describes the image beside it")
	assert.Equal(t, manifest.SchemaVersion, m.SchemaVersion)
	require.Equal(t, "debian-13-containerd.spdx.json", m.SBOM, "the manifest names its SBOM")
	doc, err := os.ReadFile(filepath.Join(dir, m.SBOM))
	require.NoError(t, err)
	_, root, inv, err := sbom.Read(doc)
	require.NoError(t, err)
	assert.Equal(t, sbom.Root{Name: "debian-13-containerd", File: filepath.Base(image), SHA256: sum, Version: "v1.36.3"}, root, "the SBOM describes the image beside it")
	assert.Equal(t, testInventory.Packages, inv.Packages)
	assert.Equal(t, testInventory.Binaries, inv.Binaries)
}

// testInventory is what a provisioned disk holds in these tests.
var testInventory = sbom.Inventory{
	OS:       sbom.OS{ID: "debian", VersionID: "13"},
	Packages: []sbom.Package{{Format: sbom.FormatDeb, Name: "kubelet", Version: "1.36.3-1.1", Arch: "amd64"}},
	Binaries: []sbom.Binary{{Name: "kubelet", Path: "/usr/bin/kubelet", SHA256: strings.Repeat("ab", 32), Version: "v1.36.3"}},
}
