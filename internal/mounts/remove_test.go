package mounts

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/sys"
)

// fakeSystem has a mount table that umount edits, unless stuck.
type fakeSystem struct {
	mounts []string
	stuck  bool
	loops  map[string]string
	ran    []string
}

func (f *fakeSystem) Run(_ context.Context, c sys.Cmd) ([]byte, error) {
	f.ran = append(f.ran, strings.Join(append([]string{c.Name}, c.Args...), " "))
	if c.Name == "umount" && !f.stuck {
		mp := c.Args[len(c.Args)-1]
		for i, m := range f.mounts {
			if m == mp {
				f.mounts = append(f.mounts[:i], f.mounts[i+1:]...)
				break
			}
		}
	}
	return nil, nil
}

func (f *fakeSystem) system() System {
	return System{
		Runner: f,
		Mountinfo: func() (string, error) {
			var b strings.Builder
			for _, m := range f.mounts {
				b.WriteString(strings.Join([]string{"1", "1", "0:1", "/", strings.ReplaceAll(m, " ", `\040`), "rw", "-", "x", "x", "rw"}, " ") + "\n")
			}
			return b.String(), nil
		},
		Loops: func() (map[string]string, error) { return f.loops, nil },
	}
}

func TestRemoveAll(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		stuck   bool
		wantErr string
		wantRan []string
	}{
		{
			name:    "unmounts deepest first, detaches its loop devices, removes",
			wantRan: []string{"umount --lazy DIR/root/proc", "umount --lazy DIR/root", "losetup --detach /dev/loop7"},
		},
		{
			name: "a mount that stays keeps the directory", stuck: true, wantErr: "still mounted in DIR: DIR/root/proc, DIR/root; left DIR in place",
			wantRan: []string{"umount --lazy DIR/root/proc", "umount --lazy DIR/root"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "work dir")
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "root", "proc"), 0o755))
			f := &fakeSystem{
				mounts: []string{"/proc", dir + "/root", dir + "/root/proc", dir + "2/root"},
				stuck:  tc.stuck,
				loops:  map[string]string{"/dev/loop7": dir + "/disk.raw (deleted)", "/dev/loop8": dir + "2/disk.raw"},
			}
			err := f.system().RemoveAll(context.Background(), dir)
			var ran []string
			for _, r := range f.ran {
				ran = append(ran, strings.ReplaceAll(r, dir, "DIR"))
			}
			assert.Equal(t, tc.wantRan, ran)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrStillMounted)
				assert.Equal(t, strings.ReplaceAll(tc.wantErr, "DIR", dir), err.Error())
				assert.DirExists(t, dir)
				return
			}
			require.NoError(t, err)
			assert.NoDirExists(t, dir)
		})
	}
}

// TestRemoveAllReal mounts a tmpfs and attaches a loop device below a
// directory, as a killed chroot bake leaves them, and removes it.
func TestRemoveAllReal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mount and losetup")
	}
	dir := t.TempDir()
	work := filepath.Join(dir, ".kubebake-build.tmp-1-1")
	root := filepath.Join(work, "root")
	require.NoError(t, os.MkdirAll(root, 0o755))
	if out, err := exec.Command("mount", "-t", "tmpfs", "tmpfs", root).CombinedOutput(); err != nil {
		t.Skipf("cannot mount here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "--lazy", root).Run() })
	require.NoError(t, os.WriteFile(filepath.Join(root, "inside"), []byte("x"), 0o644))
	disk := filepath.Join(work, "disk.raw")
	require.NoError(t, os.WriteFile(disk, make([]byte, 1<<20), 0o644))
	out, err := exec.Command("losetup", "--find", "--show", disk).CombinedOutput()
	if err != nil {
		t.Skipf("no loop device here: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("losetup", "--detach", dev).Run() })

	require.NoError(t, System{}.RemoveAll(context.Background(), work))
	assert.NoDirExists(t, work)
	b, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	assert.Empty(t, Under(string(b), work))
	back, _ := os.ReadFile("/sys/block/" + filepath.Base(dev) + "/loop/backing_file")
	assert.NotContains(t, string(back), work, "the loop device is detached")
}
