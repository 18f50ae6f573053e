package atomicfile

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kubebake/kubebake/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// contents are what the write loop alternates between: large enough that a
// kill lands in the middle of a write.
func contents() [2][]byte {
	return [2][]byte{bytes.Repeat([]byte("a"), 256<<10), bytes.Repeat([]byte("b"), 384<<10)}
}

// TestWriteFileKilled kills a writer (kill -9) at many points: the file is
// always one of the two contents, whole, and the next write leaves nothing
// but the file.
func TestWriteFileKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills writers")
	}
	c := contents()
	if p := os.Getenv("KUBEBAKE_ATOMICFILE_LOOP"); p != "" {
		for i := 0; ; i++ {
			if err := WriteFile(p, c[i%2], 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "status.json")
	require.NoError(t, WriteFile(p, c[0], 0o644))
	leftovers := 0
	for i := 0; i < 25; i++ {
		testutil.KillAfter(t, "TestWriteFileKilled", time.Duration(30+i*11)*time.Millisecond, "KUBEBAKE_ATOMICFILE_LOOP="+p)
		b, err := os.ReadFile(p)
		require.NoError(t, err, "kill %d: the file is never missing", i)
		assert.True(t, bytes.Equal(b, c[0]) || bytes.Equal(b, c[1]), "kill %d: old or new, whole (%d bytes)", i, len(b))
		es, err := os.ReadDir(dir)
		require.NoError(t, err)
		leftovers += len(es) - 1
	}
	t.Logf("%d temporary files left by 25 kills", leftovers)
	require.NoError(t, WriteFile(p, []byte("last"), 0o644))
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, es, 1, "the next write removes every leftover")
}

// TestRemoveLeftovers: a dead writer's temporary files go, a running
// writer's and other files stay; RemoveTemps takes every temporary file of
// a directory, whatever its writer.
func TestRemoveLeftovers(t *testing.T) {
	t.Parallel()
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	dir := t.TempDir()
	p := filepath.Join(dir, "status.json")
	stale := filepath.Join(dir, ".status.json.tmp-"+strconv.Itoa(dead.Process.Pid)+"-1")
	staleDir := filepath.Join(dir, ".status.json.tmp-"+strconv.Itoa(dead.Process.Pid)+"-2")
	live := filepath.Join(dir, ".status.json.tmp-"+strconv.Itoa(os.Getpid())+"-3")
	otherTarget := filepath.Join(dir, ".kubeadm.yaml.tmp-"+strconv.Itoa(dead.Process.Pid)+"-4")
	keep := []string{filepath.Join(dir, ".hidden"), filepath.Join(dir, ".x.tmp-notapid-5"), filepath.Join(dir, "status.json")}
	for _, f := range append([]string{stale, live, otherTarget}, keep...) {
		require.NoError(t, os.WriteFile(f, []byte("x"), 0o644))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(staleDir, "sub"), 0o755))

	RemoveLeftovers(p)
	assert.NoFileExists(t, stale)
	assert.NoDirExists(t, staleDir)
	assert.FileExists(t, live, "a running writer's file stays")
	assert.FileExists(t, otherTarget, "only the temporary files of the path given")

	RemoveTemps(dir)
	assert.NoFileExists(t, live)
	assert.NoFileExists(t, otherTarget)
	for _, f := range keep {
		assert.FileExists(t, f)
	}
}

// TestWriteFileInjectedFaults fails one system call of a write after
// another (strace injects ENOSPC or EIO into the write, EIO into fsync and
// rename): each time WriteFile fails, the old file stays whole and no
// temporary file is left.
func TestWriteFileInjectedFaults(t *testing.T) {
	if p := os.Getenv("KUBEBAKE_ATOMICFILE_HELPER"); p != "" {
		// The exit code says how it went: an injected write fault fails
		// the test binary's own writes too.
		if err := WriteFile(p, []byte("new"), 0o644); err != nil {
			os.Exit(testutil.FaultExit)
		}
		os.Exit(0)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "kubeadm.yaml")
	for _, fault := range []string{"write:error=ENOSPC", "write:error=EIO", "fsync:error=EIO", "renameat:error=EIO", "fchmod:error=EPERM"} {
		require.NoError(t, os.WriteFile(p, []byte("old"), 0o600))
		code, out := testutil.InjectFault(t, "TestWriteFileInjectedFaults", fault, "KUBEBAKE_ATOMICFILE_HELPER="+p)
		require.Equal(t, testutil.FaultExit, code, "%s: WriteFile reported the fault:\n%s", fault, out)
		b, rerr := os.ReadFile(p)
		require.NoError(t, rerr)
		assert.Equal(t, "old", string(b), "%s: the old file stays", fault)
		es, derr := os.ReadDir(dir)
		require.NoError(t, derr)
		assert.Len(t, es, 1, "%s: no temporary file is left", fault)
	}
}

// TestWriteFileCannotCreate: when the temporary file cannot be created
// (a read-only file system, a real EROFS), WriteFile says so, and the old
// file stays. (An injected openat fault cannot aim at this one openat:
// strace counts calls per thread, and the Go runtime's own opens vary.)
func TestWriteFileCannotCreate(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a read-only bind mount needs root")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "kubeadm.yaml")
	require.NoError(t, os.WriteFile(p, []byte("old"), 0o600))
	if out, err := exec.Command("mount", "--bind", dir, dir).CombinedOutput(); err != nil {
		t.Skipf("cannot bind-mount here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	out, err := exec.Command("mount", "-o", "remount,bind,ro", dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	err = WriteFile(p, []byte("new"), 0o644)
	require.ErrorContains(t, err, "read-only file system")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "old", string(b))
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, es, 1, "no temporary file")
}
