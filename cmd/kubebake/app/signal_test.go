package app_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/cmd/kubebake/app"
)

// TestMain lets the test binary run as kubebake itself (KUBEBAKE_AS_MAIN),
// so a test can signal a real kubebake process.
func TestMain(m *testing.M) {
	if os.Getenv("KUBEBAKE_AS_MAIN") == "1" {
		os.Args = append([]string{"kubebake"}, strings.Fields(os.Getenv("KUBEBAKE_ARGS"))...)
		app.Main("test")
	}
	os.Exit(m.Run())
}

// fakeTools puts qemu-img and a qemu-system-x86_64 that records its PID and
// runs qemuTail (default: waits for ever) on PATH.
func fakeTools(t *testing.T, pidFile string, qemuTail ...string) string {
	t.Helper()
	bin := t.TempDir()
	write := func(name, script string) {
		require.NoError(t, os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+script), 0o755))
	}
	write("qemu-img", `for a; do last=$a; done
case $1 in
create) : >"$last" ;;
info) echo '{"virtual-size": 1}' ;;
esac
`)
	tail := "exec sleep 600\n"
	if len(qemuTail) > 0 {
		tail = qemuTail[0]
	}
	write("qemu-system-x86_64", "echo $$ >"+pidFile+"\n"+tail)
	return bin
}

// vmBuild is a kubebake build --mode vm of debian-13-containerd (the test
// binary as kubebake) over the fake tools of bin, writing into dir/out.
func vmBuild(t *testing.T, dir, bin string) (*exec.Cmd, string) {
	t.Helper()
	base := filepath.Join(dir, "base.qcow2")
	require.NoError(t, os.WriteFile(base, []byte("base"), 0o644))
	fb := filepath.Join(dir, "kubebake-firstboot")
	require.NoError(t, os.WriteFile(fb, []byte("fb"), 0o755))
	// The inputs go on the stage disk before the machine starts.
	for _, name := range []string{"kubeadm", "kubelet", "kubectl", "crictl"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(name), 0o755))
	}
	out := filepath.Join(dir, "out")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KUBEBAKE_AS_MAIN=1", "PATH="+bin+":"+os.Getenv("PATH"),
		"KUBEBAKE_ARGS=build debian-13-containerd --mode vm --accel tcg --base "+base+" --dest "+out+
			" --kubernetes-binaries-dir "+dir+" --firstboot-binary "+fb)
	return cmd, out
}

// TestSignalStopsBuild: SIGTERM or SIGINT during kubebake build --mode vm
// stops QEMU, leaves no temporary file or output behind, and kubebake exits
// 143 or 130.
func TestSignalStopsBuild(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{{syscall.SIGTERM, "SIGTERM", 143}, {syscall.SIGINT, "SIGINT", 130}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			pidFile := filepath.Join(dir, "qemu.pid")
			cmd, out := vmBuild(t, dir, fakeTools(t, pidFile))
			var stderr strings.Builder
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			var pid int
			require.Eventually(t, func() bool {
				b, err := os.ReadFile(pidFile)
				pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
				return err == nil && pid > 0
			}, 60*time.Second, 50*time.Millisecond, "QEMU started")
			require.NoError(t, cmd.Process.Signal(tc.sig))
			err := cmd.Wait()
			var exit *exec.ExitError
			require.True(t, errors.As(err, &exit), "%v\n%s", err, stderr.String())
			assert.Equal(t, tc.code, exit.ExitCode(), stderr.String())
			assert.Contains(t, stderr.String(), "kubebake: stopped by "+tc.name)
			assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "QEMU is stopped")
			assert.NoDirExists(t, out, "no output directory, temporary file or partial image is left")
		})
	}
}

// TestMachineDiesDuringBake: a vm-mode bake whose machine dies does not
// wait for SSH: it fails at once with QEMU's last words and leaves no
// image, overlay, key or output directory.
func TestMachineDiesDuringBake(t *testing.T) {
	dir := t.TempDir()
	cmd, out := vmBuild(t, dir, fakeTools(t, filepath.Join(dir, "qemu.pid"), "sleep 1; echo 'qemu: guest crashed' >&2; exit 1\n"))
	start := time.Now()
	stderr, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "%v\n%s", err, stderr)
	assert.Equal(t, 1, exit.ExitCode())
	assert.Less(t, time.Since(start), 60*time.Second, "no wait for SSH on a dead machine")
	assert.Contains(t, string(stderr), "the machine stopped during the bake")
	assert.Contains(t, string(stderr), "qemu: guest crashed")
	assert.NoDirExists(t, out)
}
