package vm

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRenice renices every thread of a process with several (a Go
// program has them from its start), as QEMU's virtual CPUs need.
func TestRenice(t *testing.T) {
	// This test binary, run again, waits on stdin: a process with threads.
	cmd := exec.Command(os.Args[0], "-test.run=^TestReniceHelper$")
	cmd.Env = append(os.Environ(), "KUBEBAKE_RENICE_HELPER=1")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	require.Eventually(t, func() bool {
		ts, _ := os.ReadDir("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task")
		return len(ts) > 1
	}, 10e9, 10e6)
	require.NoError(t, Renice(cmd.Process.Pid, 7))
	ts, err := os.ReadDir("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task")
	require.NoError(t, err)
	for _, tk := range ts {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/" + tk.Name() + "/stat")
		require.NoError(t, err)
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		assert.Equal(t, "7", f[16], "thread %s: nice", tk.Name()) // field 19 of stat
	}
	assert.Error(t, Renice(1<<30, 7), "no such process")
}

func TestReniceHelper(t *testing.T) {
	if os.Getenv("KUBEBAKE_RENICE_HELPER") == "" {
		t.Skip("helper")
	}
	_, _ = os.Stdin.Read(make([]byte, 1))
	_ = syscall.Getpid()
}
