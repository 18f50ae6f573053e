// Package e2elib tests hack/e2e-lib.sh, the shell the e2e scripts share:
// a harness that misjudges a case would report a fault as handled.
package e2elib

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runLib runs script after sourcing hack/e2e-lib.sh with $out set, and
// returns its output and $out/figures.txt.
func runLib(t *testing.T, script string) (string, string) {
	t.Helper()
	lib, err := filepath.Abs(filepath.Join("..", "e2e-lib.sh"))
	require.NoError(t, err)
	out := t.TempDir()
	cmd := exec.Command("bash", "-c", "set -euo pipefail\nsource "+lib+"\nout="+out+"\nrc=0\n: >\"$out/figures.txt\"\n"+script+"\necho rc=$rc\n")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	figs, err := os.ReadFile(filepath.Join(out, "figures.txt"))
	require.NoError(t, err)
	return string(b), string(figs)
}

// fake is a command that prints a line, then waits, exiting 143 on SIGTERM
// (or 0, or leaving a file behind, as asked).
const fake = `fake() { # DIR MODE
  local dir=$1 mode=$2
  mkdir -p "$dir"
  trap 'if [ "$mode" = leave ]; then touch "$dir/leftover"; fi; if [ "$mode" = ok ]; then exit 0; fi; exit 143' TERM
  echo "kubebake: [3/9] images: importing"
  for _ in $(seq 1 200); do sleep 0.05; done
}
`

func TestInterrupt(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, mode string
		want       []string
	}{
		{name: "clean exit 143", mode: "clean", want: []string{"FAULT PASS case", "rc=0"}},
		{name: "a file left", mode: "leave", want: []string{"FAULT FAIL case: left: files: ", "/leftover", "rc=1"}},
		{name: "wrong exit status", mode: "ok", want: []string{"FAULT FAIL case: exit status 0, want 143", "rc=1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "case")
			out, figs := runLib(t, fake+`interrupt case "`+dir+`" TERM 143 'kubebake: \[[0-9]+/[0-9]+\] images: ' 10 0 - -- fake "`+dir+`" `+tc.mode+`
left_verdict case "`+dir+`"`)
			all := out + figs
			for _, w := range tc.want {
				assert.Contains(t, all, w)
			}
			assert.Contains(t, figs, "FIGURE case: SIGTERM to exit (s)")
		})
	}
}

func TestInterruptNeverReached(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "case")
	out, _ := runLib(t, `interrupt case "`+dir+`" TERM 143 'never printed' 10 0 - -- bash -c 'echo started; exit 3'
left_verdict case "`+dir+`"`)
	assert.Contains(t, out, "FAULT FAIL case: the log never showed /never printed/ (exit 3): started")
	assert.Contains(t, out, "rc=1")
}

// TestLeftovers: a process whose command line names the directory is a
// leftover, like a file in it.
func TestLeftovers(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "case")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	sleeper := exec.Command("sleep", "30", dir)
	sleeper.Args = []string{"sleep", "30"}
	require.NoError(t, exec.Command("true").Run())
	p := exec.Command("bash", "-c", "exec -a \"leftover-qemu "+dir+"/overlay.qcow2\" sleep 30")
	require.NoError(t, p.Start())
	t.Cleanup(func() { _ = p.Process.Kill(); _ = p.Wait() })
	out, _ := runLib(t, `sleep 0.3; echo "[$(leftovers "`+dir+`")]"`)
	assert.Contains(t, out, "processes: ")
	assert.Contains(t, out, "leftover-qemu "+dir+"/overlay.qcow2")
	require.NoError(t, p.Process.Kill())
	_ = p.Wait()
	out, _ = runLib(t, `echo "[$(leftovers "`+dir+`")]"`)
	assert.True(t, strings.Contains(out, "[]"), out)
}
