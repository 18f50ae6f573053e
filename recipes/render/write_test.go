package render_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/testutil"
	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

func loadPlan(t *testing.T, ref string, overlays ...recipes.Overlay) *render.Plan {
	t.Helper()
	p, _, err := render.Load(ref, overlays...)
	require.NoError(t, err)
	return p
}

func TestWriteReplaces(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dir := filepath.Join(parent, "plan")
	require.NoError(t, render.Write(loadPlan(t, "debian-13-containerd"), dir))
	// The user's own DIR.old is not ours to delete.
	require.NoError(t, os.MkdirAll(dir+".old", 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir+".old", "keep"), []byte("mine"), 0o644))
	require.NoError(t, render.Write(loadPlan(t, "ubuntu-24.04-cri-o"), dir))
	b, err := os.ReadFile(filepath.Join(dir, "plan.json"))
	require.NoError(t, err)
	assert.Contains(t, string(b), `"recipe": "ubuntu-24.04-cri-o"`)
	assert.Equal(t, []string{"plan", "plan.old"}, testutil.DirNames(t, parent), "nothing else beside the plan")
	assert.FileExists(t, filepath.Join(dir+".old", "keep"))
	// An empty directory may be written into.
	empty := filepath.Join(parent, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	require.NoError(t, render.Write(loadPlan(t, "debian-13-containerd"), empty))
	assert.FileExists(t, filepath.Join(empty, "plan.json"))
}

func TestWriteRefuses(t *testing.T) {
	t.Parallel()
	p := loadPlan(t, "debian-13-containerd")
	parent := t.TempDir()
	file := filepath.Join(parent, "file")
	require.NoError(t, os.WriteFile(file, []byte("data"), 0o644))
	err := render.Write(p, file)
	require.ErrorContains(t, err, file+" exists and is not a directory: not replacing it")
	b, _ := os.ReadFile(file)
	assert.Equal(t, "data", string(b))

	other := filepath.Join(parent, "home")
	require.NoError(t, os.MkdirAll(other, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(other, "notes.txt"), []byte("x"), 0o644))
	err = render.Write(p, other)
	require.ErrorContains(t, err, other+" exists and is not a kubebake plan")
	assert.Equal(t, []string{"notes.txt"}, testutil.DirNames(t, other))
	assert.Equal(t, []string{"file", "home"}, testutil.DirNames(t, parent), "no temporary directory is left")
}

func TestWriteRemovesLeftovers(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	stale := filepath.Join(parent, ".plan.tmp-"+strconv.Itoa(dead.Process.Pid)+"-123")
	live := filepath.Join(parent, ".plan.tmp-"+strconv.Itoa(os.Getpid())+"-456")
	for _, d := range []string{stale, live} {
		require.NoError(t, os.MkdirAll(filepath.Join(d, "steps"), 0o755))
	}
	require.NoError(t, render.Write(loadPlan(t, "debian-13-containerd"), filepath.Join(parent, "plan")))
	assert.NoDirExists(t, stale, "a killed writer's directory is removed")
	assert.DirExists(t, live, "a running writer's directory is kept")
}

// TestWriteKilled kills a writer at many points (kill -9): afterwards the
// plan is the old one or the new one, whole, and the next write leaves
// nothing behind.
func TestWriteKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills writers")
	}
	if os.Getenv("KUBEBAKE_WRITE_LOOP") != "" {
		writeLoop(t)
		return
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "plan")
	require.NoError(t, render.Write(loadPlan(t, "debian-13-containerd"), dir))
	old, err := os.ReadFile(filepath.Join(dir, "plan.json"))
	require.NoError(t, err)
	for i := 0; i < 20; i++ {
		testutil.KillAfter(t, "TestWriteKilled", time.Duration(20+i*7)*time.Millisecond, "KUBEBAKE_WRITE_LOOP="+dir)
		b, err := os.ReadFile(filepath.Join(dir, "plan.json"))
		require.NoError(t, err, "kill %d: the plan is never missing", i)
		assert.Contains(t, []string{string(old), string(newPlanJSON(t))}, string(b), "kill %d: old or new, whole", i)
		steps, err := os.ReadDir(filepath.Join(dir, "steps"))
		require.NoError(t, err)
		assert.NotEmpty(t, steps)
	}
	require.NoError(t, render.Write(loadPlan(t, "debian-13-containerd"), dir))
	assert.Equal(t, []string{"plan"}, testutil.DirNames(t, parent), "the next write removes every leftover")
}

// newPlanJSON is the plan.json the write loop writes.
func newPlanJSON(t *testing.T) []byte {
	t.Helper()
	d := filepath.Join(t.TempDir(), "p")
	require.NoError(t, render.Write(loadPlan(t, "ubuntu-24.04-cri-o"), d))
	b, err := os.ReadFile(filepath.Join(d, "plan.json"))
	require.NoError(t, err)
	return b
}

// writeLoop writes the plan over and over until it is killed.
func writeLoop(t *testing.T) {
	p := loadPlan(t, "ubuntu-24.04-cri-o")
	dir := os.Getenv("KUBEBAKE_WRITE_LOOP")
	for {
		require.NoError(t, render.Write(p, dir))
	}
}

// TestWriteInjectedFaults fails the writer's system calls one kind after
// another (strace injects ENOSPC or EIO into every write, EIO into fsync
// and the exchange): each time Write fails, and the plan is the old one, or
// the new one when the fault came after the exchange (the directory's
// sync), whole, with nothing left beside it. (A fault at the Nth call is
// not aimed here: strace counts calls per thread, and which thread a
// goroutine's write runs on varies. TestWriteFullFileSystem runs out of
// space half way for real.)
func TestWriteInjectedFaults(t *testing.T) {
	if dir := os.Getenv("KUBEBAKE_WRITE_FAULT_HELPER"); dir != "" {
		// The exit code says how it went: an injected write fault fails
		// the test binary's own writes too.
		if err := render.Write(loadPlan(t, "ubuntu-24.04-cri-o"), dir); err != nil {
			os.Exit(testutil.FaultExit)
		}
		os.Exit(0)
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "plan")
	require.NoError(t, render.Write(loadPlan(t, "debian-13-containerd"), dir))
	old, err := os.ReadFile(filepath.Join(dir, "plan.json"))
	require.NoError(t, err)
	newPlan := string(newPlanJSON(t))
	for _, fault := range []string{"write:error=ENOSPC", "write:error=EIO", "fsync:error=EIO", "renameat2:error=EIO", "mkdirat:error=ENOSPC"} {
		code, out := testutil.InjectFault(t, "TestWriteInjectedFaults", fault, "KUBEBAKE_WRITE_FAULT_HELPER="+dir)
		require.Equal(t, testutil.FaultExit, code, "%s: Write reported the fault:\n%s", fault, out)
		b, err := os.ReadFile(filepath.Join(dir, "plan.json"))
		require.NoError(t, err)
		want := string(old)
		if fault == "fsync:error=EIO" {
			want = newPlan // the exchange was done; its sync failed
		}
		assert.Equal(t, want, string(b), "%s: old or new, whole", fault)
		steps, err := os.ReadDir(filepath.Join(dir, "steps"))
		require.NoError(t, err)
		assert.NotEmpty(t, steps)
		assert.Equal(t, []string{"plan"}, testutil.DirNames(t, parent), "%s: nothing is left beside it", fault)
		require.NoError(t, render.Write(loadPlan(t, "debian-13-containerd"), dir)) // the old plan again
	}
}

// TestWriteFullFileSystem writes a plan over an old one on a file system
// that runs out half way through the new one, for real: a tmpfs whose
// size, or whose number of inodes, fits the old plan and half the new.
// Write fails saying so, the old plan stays whole, and once there is room
// again the next Write leaves nothing of the failed one.
func TestWriteFullFileSystem(t *testing.T) {
	// usage returns the blocks and inodes a plan takes on a tmpfs.
	usage := func(ref string) (blocks, inodes uint64) {
		dir := testutil.Tmpfs(t, "size=64m")
		var before, after syscall.Statfs_t
		require.NoError(t, syscall.Statfs(dir, &before))
		require.NoError(t, render.Write(loadPlan(t, ref), filepath.Join(dir, "plan")))
		require.NoError(t, syscall.Statfs(dir, &after))
		return before.Bfree - after.Bfree, before.Ffree - after.Ffree
	}
	oldBlocks, oldInodes := usage("debian-13-containerd")
	newBlocks, newInodes := usage("ubuntu-24.04-cri-o")
	require.Greater(t, newBlocks, uint64(4))
	require.Greater(t, newInodes, uint64(4))
	for _, tc := range []struct{ name, opts string }{
		{"out of space", "size=" + strconv.FormatUint((oldBlocks+newBlocks/2)*4096, 10)},
		// The root directory takes an inode of its own.
		{"out of inodes", "size=64m,nr_inodes=" + strconv.FormatUint(1+oldInodes+newInodes/2, 10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := testutil.Tmpfs(t, tc.opts)
			dir := filepath.Join(parent, "plan")
			require.NoError(t, render.Write(loadPlan(t, "debian-13-containerd"), dir))
			old, err := os.ReadFile(filepath.Join(dir, "plan.json"))
			require.NoError(t, err)
			err = render.Write(loadPlan(t, "ubuntu-24.04-cri-o"), dir)
			require.ErrorContains(t, err, "no space left on device")
			b, err := os.ReadFile(filepath.Join(dir, "plan.json"))
			require.NoError(t, err)
			assert.Equal(t, string(old), string(b), "the old plan stays, whole")
			assert.Equal(t, []string{"plan"}, testutil.DirNames(t, parent), "nothing of the failed write is left")
			// Room again: the new plan goes in.
			require.NoError(t, exec.Command("mount", "-o", "remount,size=64m,nr_inodes=100000", parent).Run())
			require.NoError(t, render.Write(loadPlan(t, "ubuntu-24.04-cri-o"), dir))
			b, err = os.ReadFile(filepath.Join(dir, "plan.json"))
			require.NoError(t, err)
			assert.Contains(t, string(b), `"recipe": "ubuntu-24.04-cri-o"`)
		})
	}
}
