package main

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/vm"
)

// TestServeAndStop runs the built program: /healthz answers 200 and
// SIGTERM ends it with status 0 after a graceful stop.
func TestServeAndStop(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rolloutapp")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	port, err := vm.FreePort()
	require.NoError(t, err)
	var stdout strings.Builder
	cmd := exec.Command(bin, "-listen", fmt.Sprintf("127.0.0.1:%d", port))
	cmd.Stdout = &stdout
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	var resp *http.Response
	require.Eventually(t, func() bool {
		resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok\n", string(body))
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "SIGTERM is a clean stop")
	assert.Contains(t, stdout.String(), "rolloutapp: stopped")
}
