package timeline

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/testutil"
)

// TestScriptShellcheck checks every mode of the timeline script with
// shellcheck.
func TestScriptShellcheck(t *testing.T) {
	sc := testutil.Tool(t, "shellcheck")
	for _, mode := range []string{ModeInit, ModeJoin, ModePlain} {
		t.Run(mode, func(t *testing.T) {
			b, err := Script(ScriptOptions{Node: "cp1", Mode: mode, ReadyWait: 25 * time.Minute, BootWait: 30 * time.Minute})
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(string(b), "#!/bin/bash\n"))
			f := filepath.Join(t.TempDir(), "timeline.sh")
			require.NoError(t, os.WriteFile(f, b, 0o755))
			out, err := exec.Command(sc, "-s", "bash", f).CombinedOutput()
			assert.NoError(t, err, "shellcheck:\n%s\n%s", out, b)
			assert.Contains(t, string(b), "timeout 1800 systemctl is-system-running --wait")
		})
	}
}

func TestScriptOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    ScriptOptions
		err  string
	}{
		{"unknown mode", ScriptOptions{Node: "n", Mode: "worker", ReadyWait: time.Minute, BootWait: time.Minute}, `mode "worker"`},
		{"no node", ScriptOptions{Mode: ModeJoin, ReadyWait: time.Minute, BootWait: time.Minute}, "no node name"},
		{"no wait", ScriptOptions{Node: "n", Mode: ModePlain, BootWait: time.Minute}, "at least a second"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Script(tc.o)
			require.ErrorContains(t, err, tc.err)
		})
	}
}

// The fakes answer as systemd 257, kubectl and util-linux do on a node;
// every call is recorded in "calls". kubectl's wait fails (no Node yet)
// until its third call.
const (
	fakeSystemctl = `#!/bin/bash
echo "systemctl $*" >>"$(dirname "$0")/calls"
case "$1" in
is-system-running) echo running ;;
show)
  if [[ "$*" == *UserspaceTimestampMonotonic* ]]; then
    printf 'UserspaceTimestampMonotonic=10850123\nInitRDTimestampMonotonic=0\nFinishTimestampMonotonic=625900456\nFirmwareTimestampMonotonic=0\nLoaderTimestampMonotonic=0\n'
  elif [ "${!#}" = kubebake-firstboot.service ]; then
    printf 'LoadState=loaded\nInactiveExitTimestampMonotonic=73640000\nActiveEnterTimestampMonotonic=344710000\nExecMainStartTimestampMonotonic=73650000\nExecMainExitTimestampMonotonic=344706000\n'
  elif [ "${!#}" = multi-user.target ]; then
    printf 'LoadState=loaded\nInactiveExitTimestampMonotonic=49750000\nActiveEnterTimestampMonotonic=49750000\nExecMainStartTimestampMonotonic=0\nExecMainExitTimestampMonotonic=0\n'
  elif [ "${!#}" = cloud-final.service ]; then
    printf 'LoadState=loaded\nInactiveExitTimestampMonotonic=52700000\nActiveEnterTimestampMonotonic=55950000\nExecMainStartTimestampMonotonic=52710000\nExecMainExitTimestampMonotonic=55940000\n'
  else
    printf 'LoadState=not-found\nInactiveExitTimestampMonotonic=0\nActiveEnterTimestampMonotonic=0\nExecMainStartTimestampMonotonic=0\nExecMainExitTimestampMonotonic=0\n'
  fi ;;
esac
`
	fakeAnalyze = `#!/bin/bash
echo "systemd-analyze $*" >>"$(dirname "$0")/calls"
case "$1" in
time) printf 'Startup finished in 10.850s (kernel) + 10min 15.050s (userspace) = 10min 25.900s \ngraphical.target reached after 5min 33.870s in userspace.\n' ;;
critical-chain)
  printf 'The time when unit became active or started is printed after the "@" character.\nThe time the unit took to start is printed after the "+" character.\n\n'
  printf '%s +4min 31.060s\n` + "`" + `-cloud-config.service @52.110s +10.630s\n  ` + "`" + `-cloud-init-network.service @34.170s +17.930s\n' "$2" ;;
blame) for i in $(seq 1 30); do echo "${i}00ms unit$i.service"; done ;;
esac
`
	fakeDmesg = `#!/bin/bash
printf '[    0.000000] Linux version 6.12.117+deb13-cloud-amd64\n[    0.669557] printk: legacy console [ttyS0] enabled\n[    5.250023] Run /init as init process\n[    9.000000] random: crng init done\n'
`
	fakeJournalctl = `#!/bin/bash
echo "journalctl $*" >>"$(dirname "$0")/calls"
cat <<'EOF'
[   73.640512] cp1 systemd[1]: Starting kubebake-firstboot.service - kubebake first boot...
[   74.016858] cp1 kubebake-firstboot[536]: kubebake-firstboot: config: init node cp1, Kubernetes v1.36.3
[   74.188875] cp1 kubebake-firstboot[536]: kubebake-firstboot: running kubeadm init --config /etc/kubebake/kubeadm.yaml
[   76.540502] cp1 kubebake-firstboot[536]: [init] Using Kubernetes version: v1.36.3
[   76.547985] cp1 kubebake-firstboot[536]: [preflight] Running pre-flight checks
[  285.621897] cp1 kubebake-firstboot[536]: [addons] Applied essential addon: CoreDNS
[  291.976677] cp1 kubebake-firstboot[536]: Your Kubernetes control-plane has initialized successfully!
[  292.412964] cp1 kubebake-firstboot[536]: kubebake-firstboot: waiting up to 20m0s for node cp1's pod range
[  344.710311] cp1 systemd[1]: Finished kubebake-firstboot.service - kubebake first boot.
EOF
`
	// fakeCrictl prints as crictl ps -a -o json does (indented, createdAt
	// an int64 as a string); fakeDate the wall clock it is read against.
	fakeCrictl = `#!/bin/bash
echo "crictl $*" >>"$(dirname "$0")/calls"
cat <<'EOF'
{
  "containers": [
    {
      "id": "a1",
      "metadata": {
        "name": "kube-controller-manager",
        "attempt": 1
      },
      "state": "CONTAINER_RUNNING",
      "createdAt": "1764755670000000000",
      "labels": {
        "io.kubernetes.pod.name": "kube-controller-manager-cp1"
      }
    },
    {
      "id": "b2",
      "metadata": {
        "name": "etcd",
        "attempt": 0
      },
      "state": "CONTAINER_RUNNING",
      "createdAt": "1764755640500000000",
      "labels": {
        "io.kubernetes.pod.name": "etcd-cp1"
      }
    }
  ]
}
EOF
`
	fakeDate = `#!/bin/bash
echo 1764755700000000000
`
	fakeKubectl = `#!/bin/bash
dir=$(dirname "$0")
echo "kubectl $*" >>"$dir/calls"
n=$(grep -c '^kubectl' "$dir/calls")
if [ "$n" -ge 3 ]; then echo "node/cp1 condition met"; else echo 'Error from server (NotFound): nodes "cp1" not found' >&2; exit 1; fi
`
	initStatus = `{"result":"success","phase":"done","role":"init","node":"cp1","attempt":1,"durationSeconds":271.018,
"phases":[{"name":"config","seconds":0.359,"result":"success"},{"name":"preflight","seconds":0.036,"result":"success"},
{"name":"hooks-before","seconds":0,"result":"success"},{"name":"kubeadm","seconds":217.958,"result":"success"},
{"name":"post-init","seconds":0,"result":"success"},{"name":"cni","seconds":52.06,"result":"success"},{"name":"hooks-after","seconds":0,"result":"success"}]}
`
)

// runScript runs the timeline script of mode with the fakes first on its
// PATH and firstboot's state (success, failed or none) and returns what
// it wrote and the calls the fakes saw.
func runScript(t *testing.T, mode, firstboot string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	bin, state := filepath.Join(dir, "bin"), filepath.Join(dir, "state")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	require.NoError(t, os.MkdirAll(state, 0o755))
	for name, content := range map[string]string{"systemctl": fakeSystemctl, "systemd-analyze": fakeAnalyze, "dmesg": fakeDmesg, "journalctl": fakeJournalctl, "kubectl": fakeKubectl, "crictl": fakeCrictl, "date": fakeDate} {
		require.NoError(t, os.WriteFile(filepath.Join(bin, name), []byte(content), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(bin, "calls"), nil, 0o644))
	if firstboot != "" {
		require.NoError(t, os.WriteFile(filepath.Join(state, "firstboot."+firstboot), []byte("2026-12-03T08:54:30Z\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(state, "status.json"), []byte(initStatus), 0o644))
	}
	script, err := Script(ScriptOptions{Node: "cp1", Mode: mode, ReadyWait: 20 * time.Second, BootWait: 10 * time.Second})
	require.NoError(t, err)
	// The script sets its own PATH: put the fakes first.
	s := strings.Replace(string(script), "export PATH=", "export PATH="+bin+":", 1)
	f := filepath.Join(dir, "timeline.sh")
	require.NoError(t, os.WriteFile(f, []byte(s), 0o755))
	out := filepath.Join(dir, "ttyS1")
	cmd := exec.Command("bash", f)
	cmd.Env = append(os.Environ(), "KUBEBAKE_TIMELINE_OUT="+out, "KUBEBAKE_TIMELINE_STATE="+state, "KUBEBAKE_TIMELINE_POLL=0.1")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", b)
	written, err := os.ReadFile(out)
	require.NoError(t, err)
	calls, err := os.ReadFile(filepath.Join(bin, "calls"))
	require.NoError(t, err)
	return string(written), string(calls)
}

// TestScriptRun runs the init node's script against the fakes and parses
// what it wrote as the host will.
func TestScriptRun(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	out, calls := runScript(t, ModeInit, "success")
	g := ParseGuest([]byte(out), "cp1")
	assert.Empty(t, g.Errors, "%s", out)
	assert.True(t, g.Done)
	assert.Equal(t, ModeInit, g.Mode)
	assert.Positive(t, g.Ready, "a READY line once kubectl wait succeeded")
	assert.Equal(t, "running", g.BootState)
	assert.Equal(t, 10.850123, g.Manager["UserspaceTimestampMonotonic"])
	assert.Equal(t, "not-found", g.Units["crio.service"].Load)
	assert.Equal(t, 73.65, g.Units["kubebake-firstboot.service"].Times["ExecMainStartTimestampMonotonic"])
	assert.Equal(t, 10.85, g.Analyze.Components["kernel"])
	require.Len(t, g.Chain, 3)
	assert.Equal(t, "kubebake-firstboot.service", g.Chain[0].Unit)
	assert.Len(t, g.Blame, 20, "blame's head only")
	assert.Equal(t, 5.250023, g.RunInit)
	assert.Len(t, g.Journal, 9)
	require.NotNil(t, g.Status)
	assert.Len(t, g.Status.Phases, 7)
	require.Len(t, g.Containers, 2, "crictl's containers, its indented JSON read from one line")
	assert.Equal(t, "etcd", g.Containers[0].Name, "oldest first")
	assert.Equal(t, "kube-controller-manager-cp1", g.Containers[1].Pod)
	assert.Equal(t, 1, g.Containers[1].Attempt)
	assert.InDelta(t, 29.5, g.Containers[1].Created-g.Containers[0].Created, 0.001, "creation times 29.5 s apart on the guest's clock")

	for _, want := range []string{
		"kubectl --kubeconfig /etc/kubernetes/admin.conf wait --for=condition=Ready node/cp1 --timeout=60s",
		"systemctl is-system-running --wait",
		"systemd-analyze critical-chain kubebake-firstboot.service",
		"journalctl -b -o short-monotonic --no-pager -u kubebake-firstboot.service",
		"crictl ps -a -o json",
	} {
		assert.Contains(t, calls, want)
	}
	assert.Equal(t, 3, strings.Count(calls, "kubectl "), "it looks until the Node is Ready, then stops")

	tl := Build(Input{Kind: KindInit, Node: "cp1", Host: hostMarks, Guest: g, PowerOnToResult: 350, PowerOnToKubeadm: 296})
	assert.Equal(t, []string{"kubeadm start → its first line", "kubeadm [init]", "kubeadm [preflight]", "kubeadm [addons]"}, kubeadmNames(tl))
	assert.Empty(t, filterMissing(tl.Missing, "kubeadm"), "kubeadm's start and end measured")
}

func kubeadmNames(tl Timeline) []string {
	var names []string
	for _, s := range tl.Segments {
		if s.Group == GroupKubeadm {
			names = append(names, s.Name)
		}
	}
	return names
}

func filterMissing(missing []string, substr string) []string {
	var out []string
	for _, m := range missing {
		if strings.Contains(m, substr) {
			out = append(out, m)
		}
	}
	return out
}

// TestScriptRunPlainAndFailed: the plain base's script asks nothing of
// kubectl or firstboot's journal; a node whose firstboot failed still
// reports its boot.
func TestScriptRunPlainAndFailed(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	out, calls := runScript(t, ModePlain, "")
	g := ParseGuest([]byte(out), "cp1")
	assert.Empty(t, g.Errors)
	assert.True(t, g.Done)
	assert.Equal(t, ModePlain, g.Mode)
	assert.NotContains(t, calls, "kubectl")
	assert.NotContains(t, calls, "journalctl")
	assert.Contains(t, calls, "systemd-analyze critical-chain multi-user.target")
	assert.Empty(t, g.Journal)
	tl := Build(Input{Kind: KindBase, Node: "cp1", Host: hostMarks, Guest: g})
	assert.Empty(t, tl.Missing)
	assert.Equal(t, "multi-user.target", tl.ChainOf)

	out, calls = runScript(t, ModeJoin, "failed")
	g = ParseGuest([]byte(out), "cp1")
	assert.True(t, g.Done)
	assert.Equal(t, "kubebake-firstboot did not succeed", g.ReadyError)
	assert.Zero(t, g.Ready)
	assert.NotContains(t, calls, "kubectl", "no Node to wait for")
	assert.NotNil(t, g.Status)
}
