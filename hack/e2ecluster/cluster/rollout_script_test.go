package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/testutil"
)

// fakeRolloutKubectl plays a cluster through a rollout: worker-a of plan
// aaaaaaaaaaaa, worker-b of plan bbbbbbbbbbbb; the watch prints the lines
// of the file "watch" and then waits; "left" is the number of workload
// pods still on worker-a after the drain.
const fakeRolloutKubectl = `#!/bin/bash
dir=$(dirname "$0")
echo "$*" >>"$dir/calls"
case "$*" in
"apply -f "*) echo "deployment.apps/rollout-app created" ;;
"get deployment rollout-app -o jsonpath={.status.readyReplicas}") echo 4 ;;
"get pods -l app=rollout-app --no-headers --watch-only "*)
  cat "$dir/watch"
  # A watch lasts until it is ended, or its test is gone.
  while [ -d "$dir" ]; do sleep 0.2; done ;;
"get pods -l app=rollout-app --no-headers -o custom-columns=NODE:"*)
  for i in 5 6 7 8; do echo "worker-b p$i <none> True"; done ;;
"get pods -l app=rollout-app --no-headers -o custom-columns="*)
  # The first list fails when the file "listfail" says so (the API server
  # restarting): it must count nothing.
  if [ -e "$dir/listfail" ] && [ ! -e "$dir/listfailed" ]; then touch "$dir/listfailed"; echo "connection refused" >&2; exit 1; fi
  for i in 1 2 3 4; do echo "p$i <none> True"; done ;;
"get pods -l app=rollout-app --field-selector spec.nodeName=worker-a --no-headers") for ((i = 0; i < $(cat "$dir/left"); i++)); do echo "p$i"; done ;;
"get nodes -l kubebake.dev/plan=bbbbbbbbbbbb --no-headers "*) echo "worker-b True" ;;
"get nodes -l kubebake.dev/plan=bbbbbbbbbbbb -o jsonpath={.items[*].metadata.name}") echo worker-b ;;
"get nodes -l kubebake.dev/plan=aaaaaaaaaaaa,!node-role.kubernetes.io/control-plane "*)
  [ -e "$dir/deleted" ] || { [[ "$*" == *"-o name" ]] && echo node/worker-a || echo worker-a; } ;;
"drain worker-a "*) echo "node/worker-a drained" ;;
"get node worker-a -o jsonpath={.spec.unschedulable}") echo true ;;
"get node worker-a -o jsonpath="*) echo Unknown ;;
"delete node worker-a") touch "$dir/deleted"; echo 'node "worker-a" deleted' ;;
*) echo "fake kubectl $*" ;;
esac
`

// TestRolloutScript runs the init node's rollout script against the fake
// cluster: the steps come in order, the lowest availability is what the
// watch showed, and the verdict follows the budget and the drain.
func TestRolloutScript(t *testing.T) {
	for _, tc := range []struct {
		name, watch string
		left        int
		listFail    bool
		pass        bool
		lowest      string
		detail      string
	}{
		{
			name:  "one pod at a time, never below the budget",
			watch: "p1 2026-12-02T10:00:00Z True\np5 <none> False\np5 <none> True\np2 2026-12-02T10:01:00Z True\np6 <none> True\n",
			pass:  true, lowest: "3", detail: "4 replicas Ready on worker-b, lowest 3 Ready (budget 3)",
		},
		{
			name:  "a failed list counts nothing",
			watch: "p1 2026-12-02T10:00:00Z True\np5 <none> True\n", listFail: true,
			pass: true, lowest: "3", detail: "lowest 3 Ready",
		},
		{
			name:   "two pods down at once",
			watch:  "p1 2026-12-02T10:00:00Z True\np2 2026-12-02T10:00:00Z True\np5 <none> True\n",
			lowest: "2", detail: "availability fell to 2 Ready, below the budget's 3",
		},
		{
			name:  "the drain left a pod",
			watch: "", left: 1, detail: "drain worker-a: 1 workload pods left on it",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			require.NoError(t, os.MkdirAll(bin, 0o755))
			for name, content := range map[string]string{
				"bin/kubectl": fakeRolloutKubectl, "bin/watch": tc.watch, "bin/left": strconv.Itoa(tc.left),
				"result": "PASS\n",
			} {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o755))
			}
			if tc.listFail {
				require.NoError(t, os.WriteFile(filepath.Join(bin, "listfail"), nil, 0o644))
			}
			script, err := RolloutScript(cp, "aaaaaaaaaaaa", "bbbbbbbbbbbb", Workload{Image: "kubebake.test/rollout-app:v1", Replicas: 4, MinAvailable: 3})
			require.NoError(t, err)
			s := strings.Replace(string(script), "export PATH=", "export PATH="+bin+":", 1)
			f := filepath.Join(dir, "rollout.sh")
			require.NoError(t, os.WriteFile(f, []byte(s), 0o755))
			outFile := filepath.Join(dir, "ttyS1")
			cmd := exec.Command("bash", f)
			cmd.Env = append(os.Environ(), "KUBEBAKE_E2E_OUT="+outFile, "KUBEBAKE_E2E_RUN="+filepath.Join(dir, "run"),
				"KUBEBAKE_E2E_RESULT="+filepath.Join(dir, "result"), "KUBEBAKE_E2E_POLL=0.1", "KUBECONFIG=/dev/null")
			done := make(chan struct{})
			var out []byte
			go func() { out, err = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("the rollout script did not finish within a minute")
			}
			require.NoError(t, err, "%s", out)
			b, err := os.ReadFile(outFile)
			require.NoError(t, err)
			r := Parse(b, "cp1")
			require.True(t, r.RolloutDone, "a ROLLOUT-RESULT line:\n%s", b)
			assert.Equal(t, tc.pass, r.RolloutPass, "%s", b)
			assert.Contains(t, r.RolloutDetail, tc.detail, "%s", b)
			var steps []string
			for _, st := range r.Rollout {
				steps = append(steps, st.Step)
				if st.Step == "LOWEST-READY" {
					assert.Equal(t, tc.lowest, st.Args[0])
				}
			}
			want := []string{"WORKLOAD-READY", "BOOT-REPLACEMENT", "REPLACEMENT-READY", "DRAIN"}
			if tc.left == 0 {
				want = append(want, "DRAINED", "POWEROFF", "DELETED", "LOWEST-READY")
			}
			assert.Equal(t, want, steps, "%s", b)
			// The watch's kubectl is gone with the script.
			calls, _ := os.ReadFile(filepath.Join(bin, "calls"))
			assert.Contains(t, string(calls), "--watch-only")
		})
	}
}

// TestRolloutScriptShellcheck checks the rollout script with shellcheck,
// and that bad inputs are refused before a script is made.
func TestRolloutScriptShellcheck(t *testing.T) {
	sc := testutil.Tool(t, "shellcheck")
	b, err := RolloutScript(cp, "aaaaaaaaaaaa", "bbbbbbbbbbbb", Workload{Image: "kubebake.test/rollout-app:v1", Replicas: 4, MinAvailable: 3})
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "rollout.sh")
	require.NoError(t, os.WriteFile(f, b, 0o755))
	out, err := exec.Command(sc, "-s", "bash", f).CombinedOutput()
	assert.NoError(t, err, "shellcheck:\n%s", out)
	for _, bad := range []struct {
		old, new string
		w        Workload
		want     string
	}{
		{"aaaaaaaaaaaa", "aaaaaaaaaaaa", Workload{Image: "x", Replicas: 4, MinAvailable: 3}, "same plan"},
		{"aaaaaaaaaaaa", "$(reboot)", Workload{Image: "x", Replicas: 4, MinAvailable: 3}, "lower-case hex"},
		{"aaaaaaaaaaaa", "bbbbbbbbbbbb", Workload{Image: "x; reboot", Replicas: 4, MinAvailable: 3}, "not an image reference"},
		{"aaaaaaaaaaaa", "bbbbbbbbbbbb", Workload{Image: "x", Replicas: 3, MinAvailable: 3}, "minAvailable < replicas"},
	} {
		_, err := RolloutScript(cp, bad.old, bad.new, bad.w)
		assert.ErrorContains(t, err, bad.want)
	}
}
