package acc

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQemuBuildCancelled interrupts a real kubebake-qemu build (as Ctrl-C
// does) once the provisioner is running: packer must exit non-zero, and no
// QEMU process, work directory (overlay, seed, firmware variables) or image
// may be left behind.
func TestQemuBuildCancelled(t *testing.T) {
	if os.Getenv("KUBEBAKE_ACC_QEMU") != "1" {
		t.Skip("runs with KUBEBAKE_ACC_QEMU=1 (make acc)")
	}
	p := newPacker(t)
	base, k8s := os.Getenv("KUBEBAKE_ACC_BASE"), os.Getenv("KUBEBAKE_ACC_K8S_BIN")
	require.NotEmpty(t, base)
	work := t.TempDir()
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(p.packer, "build", "-var", "source_image="+base, "-var", "output_directory="+out,
		"-var", "kubernetes_binaries_dir="+k8s, "examples/qcow2.pkr.hcl")
	cmd.Dir = p.repo
	cmd.Env = append(append([]string{}, p.env...), "PACKER_TMP_DIR="+work)
	// Ctrl-C signals the terminal's foreground process group: packer's
	// panicwrap parent ignores SIGINT and leaves it to its child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); pw.Close() }()

	var log strings.Builder
	interrupted := false
	var interruptedAt time.Time
	// A build that never reaches the provisioner is killed, not awaited.
	watchdog := time.AfterFunc(15*time.Minute, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	defer watchdog.Stop()
	sc := bufio.NewScanner(pr)
	start := time.Now()
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		t.Log(line)
		if !interrupted && strings.Contains(line, "kubebake: [1/") {
			t.Logf("interrupting after %s: %s", time.Since(start).Round(time.Second), line)
			require.NoError(t, syscall.Kill(-cmd.Process.Pid, syscall.SIGINT))
			interrupted = true
			interruptedAt = time.Now()
		}
	}
	select {
	case err := <-done:
		require.Error(t, err, "a cancelled build fails")
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("packer did not exit within 5 minutes of the interrupt:\n%s", log.String())
	}
	require.True(t, interrupted, "the provisioner never started:\n%s", log.String())
	t.Logf("FIGURE cancelled build exited %s after the interrupt", time.Since(interruptedAt).Round(100*time.Millisecond))

	entries, err := os.ReadDir(work)
	require.NoError(t, err)
	assert.Empty(t, entries, "the work directory (overlay, seed, firmware variables) is removed")
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range procs {
		b, _ := os.ReadFile(f)
		assert.NotContains(t, string(b), work, "no QEMU process is left: %s", strings.ReplaceAll(string(b), "\x00", " "))
	}
	imgs, _ := filepath.Glob(filepath.Join(out, "*"))
	assert.Empty(t, imgs, "no image is written")
}
