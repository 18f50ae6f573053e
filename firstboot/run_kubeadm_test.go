package firstboot_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot"
)

func TestRunJoinRetries(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig)
	n.runner.joinFailures = 2
	require.NoError(t, n.run())
	join := "kubeadm join --config ROOT/etc/kubebake/kubeadm.yaml"
	reset := "kubeadm reset --force --cri-socket " + criSocket
	assert.Equal(t, []string{join, reset, join, reset, join}, n.runner.commands(n.root))
	assert.Equal(t, []time.Duration{10 * time.Second, 20 * time.Second}, n.clock.waits())
	s := n.status()
	assert.Equal(t, firstboot.ResultSuccess, s.Result)
	require.NotNil(t, s.Kubeadm)
	assert.Equal(t, 3, s.Kubeadm.Attempts)
	assert.Equal(t, 0, s.Kubeadm.ExitCode)
	assert.Equal(t, []string{"config=success", "preflight=success", "hooks-before=success", "kubeadm=success", "hooks-after=success"}, phaseNames(s))
	kubeadm := s.Phases[3]
	assert.Equal(t, 30.0, kubeadm.Seconds, "the kubeadm phase took the two waits")
	assert.True(t, n.exists(firstboot.SuccessMarker))
	assert.True(t, n.exists(firstboot.CAPISentinel))
	assert.Contains(t, n.log.String(), "retry in 10s")
}

func TestRunJoinGivesUp(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig+"timeouts:\n  controlPlane: 2m\n")
	n.runner.joinFailures = -1
	err := n.run()
	require.Error(t, err)
	assert.ErrorIs(t, err, firstboot.ErrFailed)
	assert.Contains(t, err.Error(), "kubeadm join failed 4 times over 2m0s (last exit code 1)")

	join := "kubeadm join --config ROOT/etc/kubebake/kubeadm.yaml"
	reset := "kubeadm reset --force --cri-socket " + criSocket
	assert.Equal(t, []string{join, reset, join, reset, join, reset, join}, n.runner.commands(n.root))
	assert.Equal(t, []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second}, n.clock.waits())
	s := n.status()
	assert.Equal(t, firstboot.ResultFailure, s.Result)
	assert.Equal(t, "kubeadm", s.Phase)
	assert.Contains(t, s.Error, "kubeadm join failed 4 times")
	require.NotNil(t, s.Kubeadm)
	assert.Equal(t, 4, s.Kubeadm.Attempts)
	assert.Equal(t, 1, s.Kubeadm.ExitCode)
	assert.Contains(t, s.Kubeadm.OutputTail, "connection refused")
	assert.Contains(t, n.read(firstboot.FailureMarker), "kubeadm join failed 4 times")
	assert.False(t, n.exists(firstboot.SuccessMarker))
	assert.False(t, n.exists(firstboot.CAPISentinel))
	lines := n.consoleLines()
	require.Len(t, lines, 1)
	assert.True(t, strings.HasPrefix(lines[0], "kubebake-firstboot: FAILED"), lines[0])
	assert.Contains(t, lines[0], "kubeadm phase")

	// The next boot resets the failed attempt first, then joins.
	n.runner = &fakeRunner{root: n.root}
	require.NoError(t, n.run())
	assert.Equal(t, []string{reset, join}, n.runner.commands(n.root))
	s = n.status()
	assert.Equal(t, firstboot.ResultSuccess, s.Result)
	assert.Equal(t, 2, s.Attempt)
	assert.Equal(t, []string{"config=success", "preflight=success", "reset=success", "hooks-before=success", "kubeadm=success", "hooks-after=success"}, phaseNames(s))
	assert.False(t, n.exists(firstboot.FailureMarker))
	assert.True(t, n.exists(firstboot.SuccessMarker))
	lines = n.consoleLines()
	require.Len(t, lines, 2)
	assert.True(t, strings.HasPrefix(lines[1], "kubebake-firstboot: SUCCESS"), lines[1])
	assert.Contains(t, lines[1], "joined the cluster (Kubernetes v1.36.3)")
}

// TestRunJoinGivesUpAtDefaultTimeout: with the default 20m, the waits
// double from 10s to 60s and the last attempt starts before the deadline
// with no room for another wait.
func TestRunJoinGivesUpAtDefaultTimeout(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig)
	n.runner.joinFailures = -1
	require.ErrorIs(t, n.run(), firstboot.ErrFailed)
	waits := n.clock.waits()
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second}
	want = append(want, repeatD(time.Minute, 18)...)
	assert.Equal(t, want, waits)
	var total time.Duration
	for _, w := range waits {
		total += w
	}
	assert.LessOrEqual(t, total, 20*time.Minute)
	assert.Greater(t, total+time.Minute, 20*time.Minute)
	s := n.status()
	require.NotNil(t, s.Kubeadm)
	assert.Equal(t, len(waits)+1, s.Kubeadm.Attempts)
	assert.Contains(t, s.Error, "over 20m0s")
}

func TestRunResetsAfterPreviousAttempt(t *testing.T) {
	t.Parallel()
	reset := "kubeadm reset --force --cri-socket " + criSocket
	join := "kubeadm join --config ROOT/etc/kubebake/kubeadm.yaml"
	tests := []struct {
		name          string
		prevStatus    string // status.json left by the previous boot; "" for none
		failureMarker bool
		want          []string
	}{
		{name: "first boot", want: []string{join}},
		{name: "interrupted in kubeadm", prevStatus: `{"result": "running", "phase": "kubeadm", "attempt": 1}`, want: []string{reset, join}},
		{name: "interrupted in hooks-before", prevStatus: `{"result": "running", "phase": "hooks-before", "attempt": 1}`, want: []string{reset, join}},
		{name: "failed in kubeadm, marker removed", prevStatus: `{"result": "failure", "phase": "kubeadm", "attempt": 1}`, want: []string{reset, join}},
		{name: "failure marker only", failureMarker: true, want: []string{reset, join}},
		{name: "interrupted in config", prevStatus: `{"result": "running", "phase": "config", "attempt": 1}`, want: []string{join}},
		{name: "previous boot had no config", prevStatus: `{"result": "no-config", "phase": "config", "attempt": 1}`, want: []string{join}},
		{name: "previous boot only configured", prevStatus: `{"result": "configured", "phase": "config", "attempt": 1}`, want: []string{join}},
		{name: "corrupt status", prevStatus: `{"result": `, want: []string{reset, join}},
		{name: "empty status", prevStatus: " ", want: []string{reset, join}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, joinConfig)
			if tc.prevStatus != "" {
				n.write(firstboot.StatusFile, tc.prevStatus, 0o644)
			}
			if tc.failureMarker {
				n.write(firstboot.FailureMarker, "kubeadm join failed\n", 0o644)
			}
			require.NoError(t, n.run())
			assert.Equal(t, tc.want, n.runner.commands(n.root))
			assert.Equal(t, firstboot.ResultSuccess, n.status().Result)
			assert.False(t, n.exists(firstboot.FailureMarker))
		})
	}
}

func TestRunCancelledDuringJoinBackoff(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig)
	n.runner.joinFailures = -1
	ctx, cancel := context.WithCancel(context.Background())
	o := n.options()
	o.Clock = &cancelClock{fakeClock: n.clock, cancel: cancel}
	err := firstboot.Run(ctx, o)
	n.checkNoSecrets()
	require.ErrorIs(t, err, firstboot.ErrFailed)
	assert.Contains(t, err.Error(), "context canceled")
	assert.Equal(t, firstboot.ResultFailure, n.status().Result)
}

// cancelClock cancels the run at its first wait.
type cancelClock struct {
	*fakeClock
	cancel func()
}

func (c *cancelClock) Sleep(ctx context.Context, d time.Duration) error {
	c.cancel()
	return c.fakeClock.Sleep(ctx, d)
}

// TestRunResumesAfterKubeadm: when kubeadm init succeeded but a later phase
// failed, the next boot must not reset the member node nor run kubeadm
// again; it resumes with the phases after kubeadm.
func TestRunResumesAfterKubeadm(t *testing.T) {
	t.Parallel()
	n := newNode(t, withCertKey(initConfig))
	n.runner.kubectlExit = 1
	require.ErrorIs(t, n.run(), firstboot.ErrFailed)
	assert.True(t, n.exists(firstboot.KubeadmDoneMarker))

	n.runner = &fakeRunner{root: n.root}
	require.NoError(t, n.run())
	assert.Equal(t, []string{
		"kubectl --kubeconfig ROOT/etc/kubernetes/admin.conf apply -f ROOT/etc/kubebake/cni.yaml",
		"bash -c echo third",
	}, n.runner.commands(n.root), "no reset, no second kubeadm init")
	s := n.status()
	assert.Equal(t, firstboot.ResultSuccess, s.Result)
	assert.Equal(t, 2, s.Attempt)
	assert.True(t, n.exists(firstboot.SuccessMarker))
	assert.False(t, n.exists(firstboot.FailureMarker))
}

const controlPlaneJoinConfig = nodeConfigHdr + `role: control-plane
cluster:
  controlPlaneEndpoint: 10.0.0.10:6443
bootstrap:
  token: ` + cfgToken + `
  caCertHashes: ["` + caHash + `"]
  certificateKey: CERTKEY
`

// TestRunControlPlaneJoinKeepsEtcdMember: a control-plane join that failed
// after adding the node's etcd member is not reset and retried (the reset
// would wipe the member without removing it when the control plane is
// unreachable, and a two-member etcd loses its quorum), in this boot or
// the next; one that failed before that retries as any join.
func TestRunControlPlaneJoinKeepsEtcdMember(t *testing.T) {
	t.Parallel()
	join := "kubeadm join --config ROOT/etc/kubebake/kubeadm.yaml"
	reset := "kubeadm reset --force --cri-socket " + criSocket

	t.Run("failed before etcd: reset and retry", func(t *testing.T) {
		t.Parallel()
		n := newNode(t, withCertKey(controlPlaneJoinConfig))
		n.runner.joinFailures = 1
		require.NoError(t, n.run())
		assert.Equal(t, []string{join, reset, join}, n.runner.commands(n.root))
	})

	t.Run("failed after etcd: no reset", func(t *testing.T) {
		t.Parallel()
		n := newNode(t, withCertKey(controlPlaneJoinConfig))
		n.runner.joinFailures, n.runner.joinEtcdAdded = -1, true
		err := n.run()
		require.ErrorIs(t, err, firstboot.ErrFailed)
		assert.Equal(t, []string{join}, n.runner.commands(n.root), "no reset, no second join")
		assert.Empty(t, n.clock.waits())
		s := n.status()
		assert.Equal(t, firstboot.ResultFailure, s.Result)
		assert.Equal(t, "kubeadm", s.Phase)
		assert.Contains(t, s.Error, "kubeadm join failed (exit code 1) after this node's etcd member was added: not resetting it")
		assert.Contains(t, s.Kubeadm.OutputTail, "kubelet-wait-bootstrap")
		lines := n.consoleLines()
		require.Len(t, lines, 1)
		assert.Contains(t, lines[0], "FAILED: kubeadm phase")

		// The next boot leaves the member alone too.
		n.write(firstboot.EtcdMemberDir+"/snap/db", "etcd data", 0o600)
		n.runner = &fakeRunner{root: n.root}
		require.ErrorIs(t, n.run(), firstboot.ErrFailed)
		assert.Empty(t, n.runner.commands(n.root), "nothing run: no reset")
		s = n.status()
		assert.Equal(t, firstboot.ResultFailure, s.Result)
		assert.Contains(t, s.Error, "a previous control-plane join left this node an etcd member (/var/lib/etcd/member): not resetting it")
		assert.True(t, n.exists(firstboot.EtcdMemberDir+"/snap/db"))
	})

	t.Run("a worker join is reset and retried whatever it printed", func(t *testing.T) {
		t.Parallel()
		n := newNode(t, joinConfig)
		n.runner.joinFailures, n.runner.joinEtcdAdded = 1, true
		require.NoError(t, n.run())
		assert.Equal(t, []string{join, reset, join}, n.runner.commands(n.root))
	})
}

// TestRunAfterPowerCut: a power cut in the middle of kubeadm leaves the
// status of a running attempt and the temporary files of atomic writes cut
// short (their writer's process ID may be a live process's after the
// reboot). The next boot removes them, resets and joins.
func TestRunAfterPowerCut(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig)
	n.write(firstboot.StatusFile, `{"result": "running", "phase": "kubeadm", "attempt": 1}`, 0o644)
	pid := strconv.Itoa(os.Getpid())
	temps := []string{
		firstboot.StateDir + "/.status.json.tmp-" + pid + "-1",
		"/etc/kubebake/.kubeadm.yaml.tmp-1-2",
		firstboot.PatchesDir + "/.kubeletconfiguration+strategic.json.tmp-" + pid + "-3",
		"/etc/kubernetes/pki/.ca.key.tmp-77-4",
	}
	for _, p := range temps {
		n.write(p, "half", 0o600)
	}
	n.write("/etc/kubernetes/pki/ca.crt", "kept", 0o644)
	require.NoError(t, n.run())
	assert.Equal(t, []string{"kubeadm reset --force --cri-socket " + criSocket, "kubeadm join --config ROOT/etc/kubebake/kubeadm.yaml"}, n.runner.commands(n.root))
	for _, p := range temps {
		assert.False(t, n.exists(p), "%s is removed", p)
	}
	assert.True(t, n.exists("/etc/kubernetes/pki/ca.crt"), "only temporary files go")
	assert.Equal(t, 2, n.status().Attempt)
}
