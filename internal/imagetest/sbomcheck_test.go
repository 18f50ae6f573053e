package imagetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/sbom"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/testutil"
)

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func TestFindSBOM(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		image     string
		manifests map[string]manifest.Manifest
		want      string // file name, beside the image
		why       string
		err       string
	}{
		{name: "default name", image: "debian-13-containerd.qcow2",
			manifests: map[string]manifest.Manifest{"manifest.json": {Image: "debian-13-containerd.qcow2", SBOM: "debian-13-containerd.spdx.json"}},
			want:      "debian-13-containerd.spdx.json"},
		{name: "name template", image: "node-v1.36.3.vmdk",
			manifests: map[string]manifest.Manifest{
				"manifest.json":              {Image: "other.qcow2", SBOM: "other.spdx.json"},
				"node-v1.36.3.manifest.json": {Image: "node-v1.36.3.vmdk", SBOM: "node-v1.36.3.spdx.json"},
			},
			want: "node-v1.36.3.spdx.json"},
		{name: "the manifest is another image's", image: "node.qcow2",
			manifests: map[string]manifest.Manifest{"manifest.json": {Image: "other.qcow2", SBOM: "other.spdx.json"}},
			why:       "no manifest beside node.qcow2 names it (node.manifest.json or manifest.json)"},
		{name: "baked before SBOMs", image: "node.qcow2",
			manifests: map[string]manifest.Manifest{"manifest.json": {Image: "node.qcow2"}},
			why:       "manifest.json names no SBOM (schemaVersion 0: baked before kubebake wrote one)"},
		{name: "no manifest", image: "node.qcow2", why: "no manifest beside node.qcow2 names it"},
		{name: "sbom outside the directory", image: "node.qcow2",
			manifests: map[string]manifest.Manifest{"manifest.json": {Image: "node.qcow2", SBOM: "../etc/passwd"}},
			err:       `sbom "../etc/passwd" is not a file name beside it`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, m := range tc.manifests {
				writeJSON(t, filepath.Join(dir, name), m)
			}
			path, why, err := findSBOM(filepath.Join(dir, tc.image))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			if tc.want != "" {
				assert.Equal(t, filepath.Join(dir, tc.want), path)
				assert.Empty(t, why)
				return
			}
			assert.Empty(t, path)
			assert.Contains(t, why, tc.why)
		})
	}
}

func TestCompareInventory(t *testing.T) {
	t.Parallel()
	sum := strings.Repeat("a", 64)
	pause := "sha256:" + strings.Repeat("b", 64)
	want := sbom.Inventory{
		Packages: []sbom.Package{{Format: "deb", Name: "bash", Version: "5.2", Arch: "amd64"}, {Format: "deb", Name: "kubelet", Version: "1.36.3-1.1", Arch: "amd64"}},
		Binaries: []sbom.Binary{{Name: "kubelet", Path: "/usr/bin/kubelet", SHA256: sum}},
		Images:   []sbom.Image{{Repository: "registry.k8s.io/pause", Tag: "3.10.2", Digest: pause}},
	}
	same := func() diskInventory {
		return diskInventory{
			packages: []sbom.Package{{Format: "deb", Name: "kubelet", Version: "1.36.3-1.1", Arch: "amd64"}, {Format: "deb", Name: "bash", Version: "5.2", Arch: "amd64"}},
			sums:     map[string]string{"/usr/bin/kubelet": sum},
			images:   []sbom.Image{{Repository: "registry.k8s.io/pause", Tag: "3.10.2", Digest: pause}},
		}
	}
	tests := []struct {
		name   string
		mutate func(*diskInventory)
		want   []string
	}{
		{name: "the same", mutate: func(*diskInventory) {}},
		{name: "a version differs", mutate: func(d *diskInventory) { d.packages[0].Version = "1.36.4-1.1" },
			want: []string{"package kubelet:amd64: SBOM 1.36.3-1.1, disk 1.36.4-1.1"}},
		{name: "a package removed and one added", mutate: func(d *diskInventory) {
			d.packages[1] = sbom.Package{Format: "deb", Name: "vim", Version: "9.1", Arch: "amd64"}
		}, want: []string{"package bash:amd64 5.2 is in the SBOM, not on the disk", "package vim:amd64 9.1 is on the disk, not in the SBOM"}},
		{name: "another architecture", mutate: func(d *diskInventory) { d.packages[1].Arch = "i386" },
			want: []string{"package bash:amd64 5.2 is in the SBOM, not on the disk", "package bash:i386 5.2 is on the disk, not in the SBOM"}},
		{name: "a binary changed", mutate: func(d *diskInventory) { d.sums["/usr/bin/kubelet"] = strings.Repeat("c", 64) },
			want: []string{"binary /usr/bin/kubelet: SBOM sha256 aaaaaaaaaaaa, disk cccccccccccc"}},
		{name: "a binary gone", mutate: func(d *diskInventory) { delete(d.sums, "/usr/bin/kubelet") },
			want: []string{"binary /usr/bin/kubelet (kubelet) is not on the disk"}},
		{name: "another image", mutate: func(d *diskInventory) { d.images[0].Digest = "sha256:" + strings.Repeat("d", 64) },
			want: []string{"image registry.k8s.io/pause:3.10.2 (bbbbbbbbbbbb) is in the SBOM, not in /etc/kubebake/images.json",
				"image registry.k8s.io/pause:3.10.2 (dddddddddddd) is in /etc/kubebake/images.json, not in the SBOM"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := same()
			tc.mutate(&d)
			assert.Equal(t, tc.want, compareInventory(want, d))
		})
	}
}

const dpkgStatus = `Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.37-2+b5

Package: kubelet
Status: hold ok installed
Architecture: amd64
Version: 1.36.3-1.1

Package: removed
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0
`

// imageWithSBOM writes a disk with files, and beside it the manifest
// naming the disk as its image and the SBOM of inv; it returns the disk.
func imageWithSBOM(t *testing.T, files map[string]string, inv sbom.Inventory) string {
	t.Helper()
	raw := makeDisk(t, files)
	sum, _, err := manifest.FileSHA256(raw)
	require.NoError(t, err)
	doc, err := sbom.Build(sbom.Meta{Name: "disk", File: "disk.raw", SHA256: sum, Tool: "kubebake-test", Created: time.Now()}, inv)
	require.NoError(t, err)
	dir := filepath.Dir(raw)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "disk.spdx.json"), doc, 0o644))
	writeJSON(t, filepath.Join(dir, "manifest.json"), manifest.Manifest{SchemaVersion: manifest.SchemaVersion, Image: "disk.raw", SHA256: sum, SBOM: "disk.spdx.json"})
	return raw
}

func sumOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestSBOMCheckOnDisk runs the check on real ext4 disks read with debugfs:
// an SBOM that matches dpkg's database, the binary and the images record
// passes; a package version, a binary or the image itself that differ
// fail naming the difference; an image without an SBOM skips.
func TestSBOMCheckOnDisk(t *testing.T) {
	t.Parallel()
	testutil.Tool(t, "mkfs.ext4")
	testutil.Tool(t, "debugfs")
	const kubelet = "#!/bin/sh\necho Kubernetes v1.36.3\n"
	pause := strings.Repeat("b", 64)
	files := map[string]string{
		"var/lib/dpkg/status": dpkgStatus, "usr/bin/kubelet": kubelet,
		"etc/kubebake/images.json": `{"images":[{"id":"sha256:` + strings.Repeat("e", 64) + `","repoTags":["registry.k8s.io/pause:3.10.2"],` +
			`"repoDigests":["registry.k8s.io/pause@sha256:` + pause + `"],"size":"1","pinned":true}]}`,
	}
	inventory := func() sbom.Inventory {
		return sbom.Inventory{
			OS: sbom.OS{ID: "debian", VersionID: "13"},
			Packages: []sbom.Package{
				{Format: sbom.FormatDeb, Name: "bash", Version: "5.2.37-2+b5", Arch: "amd64"},
				{Format: sbom.FormatDeb, Name: "kubelet", Version: "1.36.3-1.1", Arch: "amd64"},
			},
			Binaries: []sbom.Binary{{Name: "kubelet", Path: "/usr/bin/kubelet", SHA256: sumOf(kubelet), Version: "v1.36.3"}},
			Images:   []sbom.Image{{Repository: "registry.k8s.io/pause", Tag: "3.10.2", Digest: "sha256:" + pause}},
		}
	}
	tests := []struct {
		name   string
		mutate func(inv *sbom.Inventory)
		disk   func(raw string)
		pass   bool
		detail string
	}{
		{name: "matches", pass: true,
			detail: "disk.spdx.json matches the disk: 2 packages, 1 binaries, 1 images"},
		{name: "a package version differs", mutate: func(inv *sbom.Inventory) { inv.Packages[1].Version = "1.36.2-1.1" },
			detail: "disk.spdx.json differs from the disk in 1 places: package kubelet:amd64: SBOM 1.36.2-1.1, disk 1.36.3-1.1"},
		{name: "the binary differs", mutate: func(inv *sbom.Inventory) { inv.Binaries[0].SHA256 = strings.Repeat("0", 64) },
			detail: "binary /usr/bin/kubelet: SBOM sha256 000000000000, disk " + sumOf(kubelet)[:12]},
		{name: "another image's SBOM", disk: func(raw string) {
			f, err := os.OpenFile(raw, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, err = f.Write([]byte("changed after the bake"))
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}, detail: "the SBOM describes an image with sha256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inv := inventory()
			if tc.mutate != nil {
				tc.mutate(&inv)
			}
			raw := imageWithSBOM(t, files, inv)
			if tc.disk != nil {
				tc.disk(raw)
			}
			fs, err := openRootFS(raw, sys.Exec{})
			require.NoError(t, err)
			c, err := sbomCheck(context.Background(), fs, raw, t.TempDir(), sys.Exec{})
			require.NoError(t, err)
			assert.Equal(t, "sbom-matches-disk", c.Name)
			assert.Equal(t, "disk", c.Where)
			assert.Equal(t, tc.pass, c.Passed, c.Detail)
			assert.False(t, c.Skipped)
			assert.Contains(t, c.Detail, tc.detail)
		})
	}

	t.Run("no SBOM", func(t *testing.T) {
		t.Parallel()
		raw := makeDisk(t, files)
		fs, err := openRootFS(raw, sys.Exec{})
		require.NoError(t, err)
		c, err := sbomCheck(context.Background(), fs, raw, t.TempDir(), sys.Exec{})
		require.NoError(t, err)
		assert.True(t, c.Passed)
		assert.True(t, c.Skipped)
		assert.Equal(t, "skipped: no SBOM: no manifest beside disk.raw names it (disk.manifest.json or manifest.json)", c.Detail)
	})
}

// TestSBOMCheckRPM builds a real rpm database (rpmbuild, rpm --justdb) in
// an EL layout on the disk: the check reads it with this machine's rpm and
// passes for the right SBOM, fails for a wrong epoch.
func TestSBOMCheckRPM(t *testing.T) {
	t.Parallel()
	testutil.Tool(t, "mkfs.ext4")
	testutil.Tool(t, "debugfs")
	rpmbuild := testutil.Tool(t, "rpmbuild")
	rpm := testutil.Tool(t, "rpm")
	work := t.TempDir()
	spec := filepath.Join(work, "fixture.spec")
	require.NoError(t, os.WriteFile(spec, []byte("Name: kubebake-fixture\nVersion: 1.2\nRelease: 3.el9\nEpoch: 2\nSummary: fixture\n"+
		"License: MIT\nBuildArch: noarch\n%description\nfixture\n%files\n"), 0o644))
	out, err := exec.Command(rpmbuild, "-bb", "--define", "_topdir "+filepath.Join(work, "top"), "--define", "_rpmdir "+filepath.Join(work, "rpms"), spec).CombinedOutput()
	require.NoError(t, err, "%s", out)
	db := filepath.Join(work, "db")
	require.NoError(t, os.MkdirAll(db, 0o755))
	out, err = exec.Command(rpm, "--dbpath", db, "-i", "--justdb", "--nodeps", "--nosignature",
		filepath.Join(work, "rpms", "noarch", "kubebake-fixture-1.2-3.el9.noarch.rpm")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	files := map[string]string{}
	for _, f := range []string{"rpmdb.sqlite", "rpmdb.sqlite-shm", "rpmdb.sqlite-wal"} {
		if b, err := os.ReadFile(filepath.Join(db, f)); err == nil {
			files["var/lib/rpm/"+f] = string(b)
		}
	}
	require.Contains(t, files, "var/lib/rpm/rpmdb.sqlite")

	for _, tc := range []struct {
		version string
		pass    bool
		detail  string
	}{
		{version: "2:1.2-3.el9", pass: true, detail: "matches the disk: 1 packages"},
		{version: "1.2-3.el9", detail: "package kubebake-fixture:noarch: SBOM 1.2-3.el9, disk 2:1.2-3.el9"},
	} {
		t.Run(tc.version, func(t *testing.T) {
			t.Parallel()
			raw := imageWithSBOM(t, files, sbom.Inventory{OS: sbom.OS{ID: "rocky", VersionID: "9.6"},
				Packages: []sbom.Package{{Format: sbom.FormatRPM, Name: "kubebake-fixture", Version: tc.version, Arch: "noarch"}}})
			fs, err := openRootFS(raw, sys.Exec{})
			require.NoError(t, err)
			c, err := sbomCheck(context.Background(), fs, raw, t.TempDir(), sys.Exec{})
			require.NoError(t, err)
			assert.Equal(t, tc.pass, c.Passed, c.Detail)
			assert.Contains(t, c.Detail, tc.detail)
		})
	}
}
