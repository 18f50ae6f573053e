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
)

// fakeKubectl answers the report script's kubectl calls from files in its
// own directory: nodes, pods and daemonsets.
const fakeKubectl = `#!/bin/bash
dir=$(dirname "$0")
case "$*" in
"get nodes --no-headers") cat "$dir/nodes" ;;
"get pods -n kube-system --no-headers") cat "$dir/pods" ;;
"get daemonsets -n kube-system --no-headers "*) cat "$dir/daemonsets" ;;
"get deployments -n kube-system --no-headers "*) cat "$dir/deployments" ;;
*) echo "fake kubectl $*" ;;
esac
`

const (
	corednsUp      = "coredns 2 2\n"
	podsStaticOnly = `etcd-cp1 1/1 Running 0 5m
kube-apiserver-cp1 1/1 Running 0 5m
kube-controller-manager-cp1 1/1 Running 0 5m
kube-scheduler-cp1 1/1 Running 0 5m
`
	twoNodesReady = "cp1 Ready control-plane 5m v1.36.3\nworker1 Ready <none> 2m v1.36.3\n"
	// Every pod there is is Running and Ready: worker1's kube-proxy pod
	// does not exist yet (as seen once on a docker cluster under TCG).
	podsReady = `coredns-1 1/1 Running 0 3m
etcd-cp1 1/1 Running 0 5m
kube-apiserver-cp1 1/1 Running 0 5m
kube-controller-manager-cp1 1/1 Running 1 5m
kube-proxy-a 1/1 Running 0 4m
kube-scheduler-cp1 1/1 Running 0 5m
`
)

// TestReportScriptVerdict runs the init node's report script with a fake
// kubectl: it passes only when every node is Ready, every kube-system pod
// Running and Ready and every DaemonSet Ready on every node.
func TestReportScriptVerdict(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	for _, tc := range []struct {
		name, nodes, pods, daemonsets string
		deployments                   string
		pass, settled                 bool
		detail                        string
	}{
		{"ready", twoNodesReady, podsReady, "kube-proxy 2 2\n", corednsUp, true, true, "2 nodes Ready, 6 kube-system pods Running and Ready, 1 daemonsets Ready on every node"},
		{"kube-proxy not yet on the new node", twoNodesReady, podsReady, "kube-proxy 1 1\n", corednsUp, false, true, "kube-proxy(1/2)"},
		{"kube-proxy scheduled, not ready", twoNodesReady, podsReady, "kube-proxy 1 2\n", corednsUp, false, true, "kube-proxy(1/2)"},
		{"no daemonsets", twoNodesReady, podsReady, "", corednsUp, false, false, "daemonsets 0"},
		{"a node not Ready", "cp1 Ready control-plane 5m v1.36.3\nworker1 NotReady <none> 2m v1.36.3\n", podsReady, "kube-proxy 2 2\n", corednsUp, false, true, "nodes Ready 1/2"},
		{"no node Ready", "cp1 NotReady control-plane 5m v1.36.3\n", podsReady, "kube-proxy 1 1\n", corednsUp, false, false, "nodes Ready 0/2"},
		{"a pod not ready", twoNodesReady, strings.Replace(podsReady, "coredns-1 1/1 Running", "coredns-1 0/1 Running", 1), "kube-proxy 2 2\n", corednsUp, false, false, "coredns-1(Running,0/1"},
		{"add-ons' pods not made yet: the static pods alone", "cp1 Ready control-plane 5m v1.36.3\n", podsStaticOnly, "kube-proxy 0 1\n", "coredns <none> 2\n", false, false, "nodes Ready 1/2"},
		{"CoreDNS not available yet", "cp1 Ready control-plane 5m v1.36.3\n", podsReady, "kube-proxy 1 1\n", "coredns 1 2\n", false, false, "nodes Ready 1/2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			bin, state := filepath.Join(dir, "bin"), filepath.Join(dir, "state")
			require.NoError(t, os.MkdirAll(bin, 0o755))
			require.NoError(t, os.MkdirAll(state, 0o755))
			for name, content := range map[string]string{
				"bin/kubectl": fakeKubectl, "bin/nodes": tc.nodes, "bin/pods": tc.pods, "bin/daemonsets": tc.daemonsets, "bin/deployments": tc.deployments,
				"state/firstboot.success": "2026-12-01T12:00:00Z\n", "state/status.json": `{"result":"success"}`,
			} {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o755))
			}
			script, err := ReportScript(cp, 2, time.Second)
			require.NoError(t, err)
			// The script sets its own PATH: put the fake first by
			// rewriting that line.
			s := strings.Replace(string(script), "export PATH=", "export PATH="+bin+":", 1)
			f := filepath.Join(dir, "report.sh")
			require.NoError(t, os.WriteFile(f, []byte(s), 0o755))
			outFile := filepath.Join(dir, "ttyS1")
			cmd := exec.Command("bash", f)
			cmd.Env = append(os.Environ(), "KUBEBAKE_E2E_OUT="+outFile, "KUBEBAKE_E2E_STATE="+state, "KUBEBAKE_E2E_POLL=0.1", "KUBEBAKE_E2E_RESULT="+filepath.Join(dir, "result"))
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			b, err := os.ReadFile(outFile)
			require.NoError(t, err)
			r := Parse(b, "cp1")
			require.True(t, r.Done, "a RESULT line:\n%s", b)
			assert.Equal(t, tc.pass, r.Pass, "%s", b)
			assert.Equal(t, tc.settled, SettledRE("cp1").Match(b), "a SETTLED line once the control plane is up:\n%s", b)
			if tc.pass {
				assert.Equal(t, tc.detail, r.Detail)
			} else {
				assert.Contains(t, r.Detail, tc.detail)
			}
		})
	}
}

// TestReportScriptWorker runs a worker's report script, named by its host
// name (no name in the user data): it waits for its own Node to turn
// Ready, reports the guest's uptime then, and passes; a Node that never
// turns Ready fails after the wait.
func TestReportScriptWorker(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	host, err := os.Hostname()
	require.NoError(t, err)
	host = strings.ToLower(host)
	for _, tc := range []struct {
		name       string
		readyAfter int // calls; 0: never
		pass       bool
	}{
		{"ready on the third look", 3, true},
		{"never ready", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			bin, state := filepath.Join(dir, "bin"), filepath.Join(dir, "state")
			require.NoError(t, os.MkdirAll(bin, 0o755))
			require.NoError(t, os.MkdirAll(state, 0o755))
			// The fake answers False until its readyAfter-th call about
			// this host's own Node, and records the kubeconfig it got.
			kubectl := `#!/bin/bash
dir=$(dirname "$0")
echo "$KUBECONFIG $*" >>"$dir/calls"
if [ "$1 $2 $3" = "get node ` + host + `" ] && [ "$4" = -o ] && [[ "$5" == jsonpath=* ]]; then
  n=$(grep -c jsonpath "$dir/calls")
  if [ ` + strconv.Itoa(tc.readyAfter) + ` -gt 0 ] && [ "$n" -ge ` + strconv.Itoa(tc.readyAfter) + ` ]; then echo True; else echo False; fi
fi
`
			require.NoError(t, os.WriteFile(filepath.Join(bin, "kubectl"), []byte(kubectl), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(state, "firstboot.success"), nil, 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(state, "status.json"), []byte(`{"result":"success"}`), 0o644))
			script, err := ReportScript(Node{Role: "join"}, 2, 2*time.Second)
			require.NoError(t, err)
			s := strings.Replace(string(script), "export PATH=", "export PATH="+bin+":", 1)
			f := filepath.Join(dir, "report.sh")
			require.NoError(t, os.WriteFile(f, []byte(s), 0o755))
			outFile := filepath.Join(dir, "ttyS1")
			cmd := exec.Command("bash", f)
			cmd.Env = append(os.Environ(), "KUBEBAKE_E2E_OUT="+outFile, "KUBEBAKE_E2E_STATE="+state, "KUBEBAKE_E2E_POLL=0.1")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			b, err := os.ReadFile(outFile)
			require.NoError(t, err)
			r := Parse(b, host)
			require.True(t, r.Done, "a RESULT line:\n%s", b)
			assert.Equal(t, tc.pass, r.Pass, "%s", b)
			assert.Equal(t, tc.pass, r.ReadyUptime > 0, "a READY line only when Ready:\n%s", b)
			calls, err := os.ReadFile(filepath.Join(bin, "calls"))
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(string(calls), "/etc/kubernetes/kubelet.conf get node "+host), "%s", calls)
		})
	}
}
