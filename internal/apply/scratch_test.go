package apply

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mountedAt reports whether dir is a mount point now.
func mountedAt(t *testing.T, dir string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

// TestChrootScratch: what the steps write in a scratch directory lands on
// this machine, what they delete again never reaches the root, what they
// leave is put back with the root's own content and modes, and the stage
// is dropped with its mount point.
func TestChrootScratch(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mount and chroot need root")
	}
	for _, tc := range []struct {
		name   string
		script string
		// inRoot are files the root holds after Close, absent files it
		// must not hold.
		inRoot, absent []string
		// onHost is a file the script wrote, found in HostDir while
		// mounted.
		onHost string
	}{
		{
			name:   "a download deleted again never reaches the root",
			script: "echo deb >/var/cache/apt/archives/containerd.deb\nrm /var/cache/apt/archives/containerd.deb\n",
			inRoot: []string{"var/cache/apt/base.txt"},
			absent: []string{"var/cache/apt/archives/containerd.deb"},
		},
		{
			name:   "what the steps leave is put back",
			script: "echo lists >/var/lib/apt/lists/InRelease\n",
			inRoot: []string{"var/lib/apt/lists/InRelease", "var/cache/apt/base.txt"},
			onHost: "InRelease",
		},
		{
			name:   "a deleted file of the root stays deleted",
			script: "rm /var/cache/apt/base.txt\n",
			absent: []string{"var/cache/apt/base.txt"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := miniRoot(t)
			for _, d := range []string{"var/cache/apt/archives/partial", "var/tmp", "bin"} {
				require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
			}
			require.NoError(t, os.Chmod(filepath.Join(root, "var/cache/apt/archives/partial"), 0o700))
			require.NoError(t, os.WriteFile(filepath.Join(root, "var/cache/apt/base.txt"), []byte("base"), 0o600))
			for _, tool := range []string{"rm", "cat"} {
				copyTool(t, root, tool)
			}
			host := filepath.Join(t.TempDir(), "scratch")
			c := &Chroot{Root: root, Scratch: []string{"/var/cache/apt", "/var/lib/apt/lists"}, Stage: "/var/tmp/kubebake", HostDir: host}
			require.NoError(t, c.Open(context.Background()))
			defer c.Close()
			assert.True(t, mountedAt(t, filepath.Join(root, "var/cache/apt")))

			// The stage is on this machine: an upload lands in HostDir and
			// the steps read it.
			require.NoError(t, c.Upload(context.Background(), "/var/tmp/kubebake/inputs/kubelet", strings.NewReader("binary"), 6, 0o755))
			var out bytes.Buffer
			code, err := c.Run(context.Background(), "cat /var/tmp/kubebake/inputs/kubelet /var/cache/apt/base.txt\n"+tc.script, &out)
			require.NoError(t, err)
			require.Equal(t, 0, code, out.String())
			assert.Equal(t, "binarybase", out.String(), "the steps see the staged input and the root's own content")
			found := false
			_ = filepath.WalkDir(host, func(p string, d os.DirEntry, err error) error {
				found = found || (err == nil && tc.onHost != "" && d.Name() == tc.onHost)
				return nil
			})
			assert.Equal(t, tc.onHost != "", found, "the steps' writes are in HostDir")
			require.NoError(t, c.RemoveStage(context.Background(), "/var/tmp/kubebake"))

			require.NoError(t, c.Close())
			assert.False(t, mountedAt(t, filepath.Join(root, "var/cache/apt")))
			for _, f := range tc.inRoot {
				assert.FileExists(t, filepath.Join(root, f))
			}
			for _, f := range tc.absent {
				assert.NoFileExists(t, filepath.Join(root, f))
			}
			fi, err := os.Stat(filepath.Join(root, "var/cache/apt/archives/partial"))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), "the root's modes are kept")
			assert.NoDirExists(t, filepath.Join(root, "var/tmp/kubebake"), "the stage is dropped with the mount point Open made")
			assert.DirExists(t, filepath.Join(root, "var/tmp"))
			assert.NoDirExists(t, host, "HostDir's directories are removed")
		})
	}
}

// copyTool copies a tool of this machine into the root (miniRoot has its
// libraries: rm and cat need no others).
func copyTool(t *testing.T, root, tool string) {
	t.Helper()
	for _, dir := range []string{"/usr/bin", "/bin"} {
		b, err := os.ReadFile(filepath.Join(dir, tool))
		if err == nil {
			require.NoError(t, os.WriteFile(filepath.Join(root, "usr/bin", tool), b, 0o755))
			return
		}
	}
	t.Fatalf("no %s on this machine", tool)
}

// TestChrootScratchRefuses: scratch directories need a HostDir and an
// absolute path below /; one behind a symbolic link is left alone.
func TestChrootScratchRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		c       Chroot
		wantErr string
	}{
		{name: "no host directory", c: Chroot{Scratch: []string{"/var/cache/apt"}}, wantErr: "need a HostDir"},
		{name: "a relative path", c: Chroot{Scratch: []string{"var/cache/apt"}, HostDir: "h"}, wantErr: `"var/cache/apt": want an absolute path`},
		{name: "the root itself", c: Chroot{Stage: "/", HostDir: "h"}, wantErr: `"/": want an absolute path below /`},
		{name: "behind a symbolic link: left alone", c: Chroot{Scratch: []string{"/var/lib/apt/lists"}, HostDir: "h"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			c.Root = t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(c.Root, "elsewhere"), 0o755))
			require.NoError(t, os.MkdirAll(filepath.Join(c.Root, "var"), 0o755))
			require.NoError(t, os.Symlink("/elsewhere", filepath.Join(c.Root, "var/lib")))
			if c.HostDir != "" {
				c.HostDir = filepath.Join(c.Root, c.HostDir)
			}
			defer c.unmountScratch(context.Background())
			err := c.mountScratch(context.Background())
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Empty(t, c.scratch, "nothing mounted")
		})
	}
}

// TestHasSymlink: a link anywhere on the way counts; missing parts do not.
func TestHasSymlink(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "var/cache"), 0o755))
	require.NoError(t, os.Symlink("/tmp", filepath.Join(root, "var/tmp")))
	for _, tc := range []struct {
		name, rel string
		want      bool
	}{
		{"plain directories", "/var/cache", false},
		{"missing below a directory", "/var/cache/apt/archives", false},
		{"the link itself", "/var/tmp", true},
		{"below the link", "/var/tmp/kubebake", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hasSymlink(root, tc.rel)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestMkdirAllTop: it returns the topmost directory it made.
func TestMkdirAllTop(t *testing.T) {
	for _, tc := range []struct {
		name, existing, dir, want string
	}{
		{"there already", "var/tmp", "var/tmp", ""},
		{"one level", "var/tmp", "var/tmp/kubebake", "var/tmp/kubebake"},
		{"several levels", "var", "var/cache/apt", "var/cache"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(root, tc.existing), 0o755))
			got, err := mkdirAllTop(filepath.Join(root, tc.dir))
			require.NoError(t, err)
			assert.DirExists(t, filepath.Join(root, tc.dir))
			want := ""
			if tc.want != "" {
				want = filepath.Join(root, tc.want)
			}
			assert.Equal(t, want, got)
		})
	}
}

// TestChrootSparesDpkgItsSyncs: in a Debian root dpkg unpacks without a
// sync per file while the steps run, and the root keeps no trace of it;
// other roots get no dpkg configuration.
func TestChrootSparesDpkgItsSyncs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mount and chroot need root")
	}
	for _, tc := range []struct {
		name   string
		debian bool
	}{
		{name: "a Debian root", debian: true},
		{name: "a root without dpkg", debian: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := miniRoot(t)
			conf := filepath.Join(root, dpkgConfDir)
			if tc.debian {
				require.NoError(t, os.MkdirAll(conf, 0o755))
			}
			c := &Chroot{Root: root}
			require.NoError(t, c.Open(context.Background()))
			defer c.Close()
			if tc.debian {
				b, err := os.ReadFile(filepath.Join(conf, "kubebake-unsafe-io"))
				require.NoError(t, err)
				assert.Contains(t, string(b), "\nforce-unsafe-io\n")
			} else {
				assert.NoDirExists(t, conf)
			}
			require.NoError(t, c.Close())
			assert.NoFileExists(t, filepath.Join(conf, "kubebake-unsafe-io"))
		})
	}
}

// TestChrootLendsStagedInputs: an input lent to the stage is read where it
// is, read-only, and unmounted with the stage; nothing outside the stage
// is lent.
func TestChrootLendsStagedInputs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mount and chroot need root")
	}
	root := miniRoot(t)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "var/tmp"), 0o755))
	copyTool(t, root, "cat")
	kubelet := filepath.Join(t.TempDir(), "kubelet")
	require.NoError(t, os.WriteFile(kubelet, []byte("kubelet binary"), 0o755))
	c := &Chroot{Root: root, Stage: "/var/tmp/kubebake", HostDir: filepath.Join(t.TempDir(), "scratch")}
	require.NoError(t, c.Open(context.Background()))
	defer c.Close()

	for _, tc := range []struct {
		name, dst string
		lent      bool
	}{
		{name: "in the stage", dst: "/var/tmp/kubebake/inputs/kubelet", lent: true},
		{name: "outside the stage", dst: "/usr/bin/kubelet", lent: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lent, err := c.LendFile(context.Background(), kubelet, tc.dst)
			require.NoError(t, err)
			assert.Equal(t, tc.lent, lent)
		})
	}
	var out bytes.Buffer
	code, err := c.Run(context.Background(), "cat /var/tmp/kubebake/inputs/kubelet; echo changed >/var/tmp/kubebake/inputs/kubelet", &out)
	require.NoError(t, err)
	assert.NotEqual(t, 0, code, "the lent file is read-only")
	assert.Contains(t, out.String(), "kubelet binary")
	stageFile := filepath.Join(root, "var/tmp/kubebake/inputs/kubelet")
	assert.True(t, mountedAt(t, stageFile))

	require.NoError(t, c.RemoveStage(context.Background(), "/var/tmp/kubebake"))
	assert.False(t, mountedAt(t, stageFile), "removing the stage unmounts what it lent")
	require.NoError(t, c.Close())
	b, err := os.ReadFile(kubelet)
	require.NoError(t, err)
	assert.Equal(t, "kubelet binary", string(b), "the host's file is as it was")
	assert.NoDirExists(t, filepath.Join(root, "var/tmp/kubebake"))
}
