package vm_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/vm"
)

// TestQMP talks to a real QEMU (a machine with no board: nothing boots) over
// its monitor socket.
func TestQMP(t *testing.T) {
	t.Parallel()
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 not installed (hack/deps.sh installs it)")
	}
	sock := filepath.Join(t.TempDir(), "qmp.sock")
	cmd := exec.Command(qemu, "-machine", "none", "-nodefaults", "-display", "none", "-qmp", "unix:"+sock+",server=on,wait=off")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.Eventually(t, func() bool {
		_, err := vm.QMP(t.Context(), sock, "query-status", nil)
		return err == nil
	}, 20*time.Second, 100*time.Millisecond, "QEMU's monitor did not answer")

	ret, err := vm.QMP(t.Context(), sock, "query-status", nil)
	require.NoError(t, err)
	var st struct {
		Status string `json:"status"`
	}
	require.NoError(t, json.Unmarshal(ret, &st))
	assert.Equal(t, "running", st.Status)

	_, err = vm.QMP(t.Context(), sock, "stop", nil)
	require.NoError(t, err)
	ret, err = vm.QMP(t.Context(), sock, "query-status", nil)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(ret, &st))
	assert.Equal(t, "paused", st.Status)

	_, err = vm.QMP(t.Context(), sock, "no-such-command", map[string]any{"x": 1})
	require.ErrorContains(t, err, "qmp no-such-command: CommandNotFound")

	_, err = vm.QMP(t.Context(), filepath.Join(t.TempDir(), "none.sock"), "query-status", nil)
	require.ErrorContains(t, err, "qmp query-status")
}
