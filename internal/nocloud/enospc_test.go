package nocloud_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/nocloud"
	"github.com/kubebake/kubebake/internal/testutil"
)

// smallFS mounts a tmpfs of size bytes (as root) for a real ENOSPC.
func smallFS(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}

// TestWriteSeedNoSpace: a seed that does not fit fails, and the good seed
// that was there stays, with no temporary file beside it.
func TestWriteSeedNoSpace(t *testing.T) {
	dir := smallFS(t, "96k")
	path := filepath.Join(dir, "seed.iso")
	require.NoError(t, nocloud.WriteSeed(path, nocloud.Seed{UserData: []byte("#cloud-config\n")}))
	good, err := os.ReadFile(path)
	require.NoError(t, err)

	big := bytes.Repeat([]byte("# padding that does not fit\n"), 4096) // ~112 KiB
	err = nocloud.WriteSeed(path, nocloud.Seed{UserData: append([]byte("#cloud-config\n"), big...)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no space left on device")
	now, rerr := os.ReadFile(path)
	require.NoError(t, rerr)
	assert.Equal(t, good, now, "the good seed stays")
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, es, 1, "no temporary file is left")
}

// TestWriteSeedInjectedFaults fails one chosen write of the seed after
// another (strace injects ENOSPC into the Nth pwrite64, EIO into fsync).
// Each time, WriteSeed fails and the good seed stays with nothing beside it,
// or, where the fault hit no write of the image, it succeeds and the seed is
// the whole new one: never success with a broken ISO.
func TestWriteSeedInjectedFaults(t *testing.T) {
	const newUserData = "#cloud-config\nhostname: new\n"
	if p := os.Getenv("KUBEBAKE_SEED_HELPER"); p != "" {
		if err := nocloud.WriteSeed(p, nocloud.Seed{UserData: []byte(newUserData)}); err != nil {
			t.Fatal(err)
		}
		return
	}
	strace := testutil.Tool(t, "strace")
	isoinfo := testutil.Tool(t, "isoinfo")
	dir := t.TempDir()
	path := filepath.Join(dir, "seed.iso")
	require.NoError(t, nocloud.WriteSeed(path, nocloud.Seed{UserData: []byte("#cloud-config\n")}))
	good, err := os.ReadFile(path)
	require.NoError(t, err)
	helper := func(fault string) ([]byte, error) {
		cmd := exec.Command(strace, "-f", "-o", "/dev/null", "-e", "inject="+fault,
			os.Args[0], "-test.run=^TestWriteSeedInjectedFaults$", "-test.count=1")
		cmd.Env = append(os.Environ(), "KUBEBAKE_SEED_HELPER="+path)
		return cmd.CombinedOutput()
	}
	faults := []string{"fsync:error=EIO"}
	for n := 1; n <= 12; n++ {
		faults = append(faults, fmt.Sprintf("pwrite64:error=ENOSPC:when=%d", n))
	}
	failed := 0
	for _, fault := range faults {
		out, err := helper(fault)
		es, derr := os.ReadDir(dir)
		require.NoError(t, derr)
		assert.Len(t, es, 1, "%s: no temporary file is left", fault)
		if err == nil {
			got, xerr := exec.Command(isoinfo, "-R", "-x", "/user-data", "-i", path).Output()
			require.NoError(t, xerr, fault)
			require.Equal(t, newUserData, string(got), "%s: success means the whole new seed", fault)
			require.NoError(t, os.WriteFile(path, good, 0o600)) // the good seed again
			continue
		}
		failed++
		assert.Regexp(t, "no space left on device|input/output error", string(out), fault)
		now, rerr := os.ReadFile(path)
		require.NoError(t, rerr)
		assert.Equal(t, good, now, "%s: the good seed stays", fault)
	}
	assert.GreaterOrEqual(t, failed, 10, "most faults hit a write of the image")
}

// TestWriteSeedKilled kills a seed writer (kill -9) at many points: the
// seed is always a whole ISO with the old or the new user data, and the
// next write leaves nothing beside it.
func TestWriteSeedKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills writers")
	}
	userData := [2]string{"#cloud-config\nhostname: a\n", "#cloud-config\nhostname: b\n" + strings.Repeat("# padding\n", 20000)}
	if p := os.Getenv("KUBEBAKE_SEED_LOOP"); p != "" {
		for i := 0; ; i++ {
			if err := nocloud.WriteSeed(p, nocloud.Seed{UserData: []byte(userData[i%2])}); err != nil {
				t.Fatal(err)
			}
		}
	}
	isoinfo := testutil.Tool(t, "isoinfo")
	dir := t.TempDir()
	path := filepath.Join(dir, "seed.iso")
	require.NoError(t, nocloud.WriteSeed(path, nocloud.Seed{UserData: []byte(userData[0])}))
	for i := 0; i < 15; i++ {
		testutil.KillAfter(t, "TestWriteSeedKilled", time.Duration(40+i*17)*time.Millisecond, "KUBEBAKE_SEED_LOOP="+path)
		got, err := exec.Command(isoinfo, "-R", "-x", "/user-data", "-i", path).Output()
		require.NoError(t, err, "kill %d: the seed is a whole ISO", i)
		assert.Contains(t, userData[:], string(got), "kill %d: old or new user data, whole", i)
	}
	require.NoError(t, nocloud.WriteSeed(path, nocloud.Seed{UserData: []byte(userData[0])}))
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, es, 1, "the next write removes every leftover")
}
