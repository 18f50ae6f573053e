package firstboot_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot"
)

func TestRunPreflightFailure(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig)
	n.write("/proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile file 1048572 0 -2\n", 0o444)
	require.NoError(t, os.RemoveAll(n.path("/sys/module")))
	require.NoError(t, os.Remove(n.path("/proc/sys/net/bridge/bridge-nf-call-iptables")))
	n.write("/proc/sys/net/ipv4/ip_forward", "0\n", 0o644)

	err := n.run()
	require.ErrorIs(t, err, firstboot.ErrFailed)
	s := n.status()
	assert.Equal(t, firstboot.ResultFailure, s.Result)
	assert.Equal(t, "preflight", s.Phase)
	for _, want := range []string{
		"swap is on (1 devices in /proc/swaps)",
		"kernel module overlay is not loaded",
		"kernel module br_netfilter is not loaded",
		"sysctl net.bridge.bridge-nf-call-iptables is not available",
		"sysctl net.ipv4.ip_forward is 0, not 1",
	} {
		assert.Contains(t, s.Error, want)
		assert.Contains(t, err.Error(), want)
		assert.Contains(t, n.read(firstboot.FailureMarker), want)
	}
	assert.NotContains(t, s.Error, "ip6tables", "present and 1")
	assert.Nil(t, s.Kubeadm)
	assert.Empty(t, n.runner.commands(n.root), "no kubeadm")
	assert.True(t, strings.HasPrefix(n.consoleLines()[0], "kubebake-firstboot: FAILED: preflight phase"))
}

func TestRunPreflightAlternatives(t *testing.T) {
	t.Parallel()
	// overlay built in (listed in /proc/filesystems), br_netfilter built in
	// (its sysctl exists), no /proc/swaps at all.
	n := newNode(t, joinConfig)
	require.NoError(t, os.RemoveAll(n.path("/sys/module")))
	require.NoError(t, os.Remove(n.path("/proc/swaps")))
	n.write("/proc/filesystems", "nodev\tsysfs\nnodev\toverlay\n", 0o444)
	require.NoError(t, n.run())
	assert.Equal(t, firstboot.ResultSuccess, n.status().Result)
}

func TestRunRuntimeSocketAbsent(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig+"timeouts:\n  runtime: 30s\n")
	require.NoError(t, n.sock.Close())
	err := n.run()
	require.ErrorIs(t, err, firstboot.ErrFailed)
	s := n.status()
	assert.Equal(t, "preflight", s.Phase)
	assert.Contains(t, s.Error, "the container runtime does not answer on "+criSocket+" after 30s")
	waits := n.clock.waits()
	var total time.Duration
	for _, w := range waits {
		assert.Equal(t, time.Second, w)
		total += w
	}
	assert.GreaterOrEqual(t, total, 30*time.Second)
	assert.LessOrEqual(t, total, 32*time.Second)
	assert.Empty(t, n.runner.commands(n.root))
}

func TestRunRuntimeSocketLate(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig)
	require.NoError(t, n.sock.Close())
	// The runtime comes up while preflight waits: the clock's third wait
	// starts it.
	clock := &lateClock{fakeClock: n.clock, after: 3, start: n.listen}
	o := n.options()
	o.Clock = clock
	require.NoError(t, firstboot.Run(context.Background(), o))
	n.checkNoSecrets()
	assert.Equal(t, []time.Duration{time.Second, time.Second, time.Second}, n.clock.waits())
	assert.Equal(t, firstboot.ResultSuccess, n.status().Result)
}

// lateClock calls start at its after-th Sleep.
type lateClock struct {
	*fakeClock
	after int
	start func()
	n     int
}

func (c *lateClock) Sleep(ctx context.Context, d time.Duration) error {
	c.n++
	if c.n == c.after {
		c.start()
	}
	return c.fakeClock.Sleep(ctx, d)
}
