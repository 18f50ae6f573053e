package apply

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// miniRoot makes a root with bash and a few tools and the libraries they
// load, copied from this machine.
func miniRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	libRE := regexp.MustCompile(`(/[^ ]+\.so[^ ]*) \(0x`)
	for _, tool := range []string{"bash", "env", "sleep", "touch"} {
		bin, err := exec.LookPath(tool)
		require.NoError(t, err)
		bin, err = filepath.EvalSymlinks(bin)
		require.NoError(t, err)
		out, err := exec.Command("ldd", bin).Output()
		require.NoError(t, err)
		files := []string{bin}
		for _, m := range libRE.FindAllSubmatch(out, -1) {
			files = append(files, string(m[1]))
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			dst := filepath.Join(root, f)
			require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
			require.NoError(t, os.WriteFile(dst, b, 0o755))
		}
		// The script's PATH and env's own path: /usr/bin.
		dst := filepath.Join(root, "usr", "bin", tool)
		if _, err := os.Stat(dst); os.IsNotExist(err) {
			require.NoError(t, os.Symlink(bin, dst))
		}
	}
	for _, d := range []string{"etc", "tmp", "usr/sbin"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	return root
}

// TestChrootStopsWhatAStepStarted: a step that starts a daemon in the
// background and is cancelled gets SIGTERM (its EXIT trap runs), and
// nothing it started outlives it; Close leaves no process in the root.
func TestChrootStopsWhatAStepStarted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root")
	}
	root := miniRoot(t)
	c := &Chroot{Root: root}
	require.NoError(t, c.Open(context.Background()))
	defer c.Close()

	// A step that finishes leaves no daemon behind.
	var out bytes.Buffer
	code, err := c.Run(context.Background(), "sleep 300 &\necho started\n", &out)
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Empty(t, rootedIn(root), "a finished step's daemon is gone")

	// A cancelled step gets SIGTERM: its trap stops its daemon and says so.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.Run(ctx, "trap 'touch /tmp/trapped; kill $daemon' EXIT TERM\nsleep 300 &\ndaemon=$!\necho up\nwait\n", &out)
	}()
	require.Eventually(t, func() bool { return len(rootedIn(root)) >= 2 }, 10*time.Second, 50*time.Millisecond)
	start := time.Now()
	cancel()
	<-done
	assert.Less(t, time.Since(start), stepGrace, "the step ended on SIGTERM, not at the SIGKILL")
	assert.FileExists(t, filepath.Join(root, "tmp", "trapped"), "the step's trap ran")
	assert.Empty(t, rootedIn(root))

	// A daemon that escaped the step's process group is killed by Close.
	esc := exec.Command("chroot", root, "/usr/bin/sleep", "300")
	require.NoError(t, esc.Start())
	go func() { _ = esc.Wait() }()
	require.Eventually(t, func() bool { return len(rootedIn(root)) == 1 }, 10*time.Second, 50*time.Millisecond)
	require.NoError(t, c.Close())
	assert.Empty(t, rootedIn(root))
}
