package timeline

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fixtures are second serial ports as the timeline script writes them,
// with OVMF's output before (it writes to every serial port) and the
// report script's E2E lines among them. Their kubebake-firstboot journal
// is that of a real two-node run under TCG (make e2e-cluster, containerd):
// its console lines, which journald forwards with the same monotonic
// timestamps, in journalctl -o short-monotonic's layout.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

func TestParseGuestInit(t *testing.T) {
	g := ParseGuest(readFixture(t, "init-report.log"), "cp1")
	assert.Empty(t, g.Errors)
	assert.True(t, g.Done)
	assert.Equal(t, "init", g.Mode)
	assert.Equal(t, 346.21, g.FirstbootResult)
	assert.Equal(t, 361.48, g.Ready)
	assert.Empty(t, g.ReadyError)
	assert.Equal(t, "running", g.BootState)
	assert.Equal(t, 626.02, g.BootFinished)
	assert.Equal(t, map[string]float64{"UserspaceTimestampMonotonic": 10.850123, "FinishTimestampMonotonic": 625.900456}, g.Manager, "zeros are left out")
	assert.Equal(t, "not-found", g.Units["cloud-init.service"].Load)
	fb := g.Units["kubebake-firstboot.service"]
	assert.Equal(t, "loaded", fb.Load)
	assert.Equal(t, 73.65, fb.Times["ExecMainStartTimestampMonotonic"])
	assert.Equal(t, 344.706, fb.Times["ExecMainExitTimestampMonotonic"])
	assert.Equal(t, Analyze{Components: map[string]float64{"kernel": 10.85, "userspace": 615.05}, Total: 625.9, Target: "graphical.target", TargetReached: 333.87}, g.Analyze)
	require.Len(t, g.Chain, 12, "the header lines are not units")
	assert.Equal(t, ChainUnit{Unit: "kubebake-firstboot.service", Depth: 0, At: -1, Took: 271.06}, g.Chain[0])
	assert.Equal(t, ChainUnit{Unit: "cloud-config.service", Depth: 1, At: 52.11, Took: 10.63}, g.Chain[1])
	assert.Equal(t, ChainUnit{Unit: "-.slice", Depth: 11, At: 17.35}, g.Chain[11])
	assert.Equal(t, BlameUnit{Unit: "kubebake-firstboot.service", Seconds: 271.06}, g.Blame[0])
	assert.Equal(t, BlameUnit{Unit: "systemd-journald.service", Seconds: 0.345}, g.Blame[len(g.Blame)-1])
	assert.Equal(t, 5.250023, g.RunInit)
	require.NotNil(t, g.Status)
	assert.Equal(t, "success", g.Status.Result)
	assert.Len(t, g.Status.Phases, 7)
	require.Len(t, g.Journal, 98)
	assert.Equal(t, JournalLine{At: 73.640512, Host: "cp1", Ident: "systemd", PID: 1, Message: "Starting kubebake-firstboot.service - kubebake first boot: turn this machine into a Kubernetes node with kubeadm..."}, g.Journal[0])
	assert.Equal(t, JournalLine{At: 76.547985, Host: "cp1", Ident: "kubebake-firstboot", PID: 536, Message: "[preflight] Running pre-flight checks"}, g.Journal[5])

	other := ParseGuest(readFixture(t, "init-report.log"), "worker1")
	assert.False(t, other.Done, "another node's lines are not this node's")
	assert.Empty(t, other.Journal)
}

func TestParseGuestErrors(t *testing.T) {
	g := ParseGuest([]byte("KUBEBAKE-TIMELINE cp1 STATUS {not json\n"+
		"KUBEBAKE-TIMELINE cp1 READY soon\n"+
		"KUBEBAKE-TIMELINE cp1 MANAGER no equals sign\n"+
		"KUBEBAKE-TIMELINE cp1 CHAIN cloud-config.service @12 parsecs\n"+
		"KUBEBAKE-TIMELINE cp1 ANALYZE Startup finished in 1.5s kernel = 1.5s\n"+
		"KUBEBAKE-TIMELINE cp1 UNIT kubelet.service ActiveEnterTimestampMonotonic=n/a\n"+
		"KUBEBAKE-TIMELINE cp1 READY-FAILED not Ready within 60s\n"), "cp1")
	assert.Len(t, g.Errors, 5, "%q", g.Errors)
	assert.Nil(t, g.Status)
	assert.Zero(t, g.Ready)
	assert.Equal(t, "not Ready within 60s", g.ReadyError)
	assert.Empty(t, g.Units["kubelet.service"].Times, "a value that is no number of microseconds is left out")
	assert.False(t, g.Done)
}

func TestParseTimespan(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     float64
		err      bool
	}{
		{"seconds", "2.345s", 2.345, false},
		{"milliseconds", "345ms", 0.345, false},
		{"microseconds", "12us", 0.000012, false},
		{"micro sign", "12μs", 0.000012, false},
		{"minutes and seconds", "1min 2.345s", 62.345, false},
		{"hours minutes", "2h 3min", 7380, false},
		{"days", "1d 2h", 93600, false},
		{"month is not minutes", "1month", 2629800, false},
		{"surrounding spaces", "  4min 31.060s ", 271.06, false},
		{"empty", "", 0, true},
		{"no unit", "12", 0, true},
		{"unknown unit", "3 parsecs", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTimespan(tc.in)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tc.want, got, 1e-9)
		})
	}
}

func TestParseChainLine(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     ChainUnit
		ok       bool
	}{
		{"the unit, with its time to start", "kubebake-firstboot.service +4min 31.060s", ChainUnit{Unit: "kubebake-firstboot.service", At: -1, Took: 271.06}, true},
		{"the unit, active only", "multi-user.target @38.840s", ChainUnit{Unit: "multi-user.target", At: 38.84}, true},
		{"a bare unit", "basic.target", ChainUnit{Unit: "basic.target", At: -1}, true},
		{"ASCII, first level", "`-cloud-config.service @52.110s +10.630s", ChainUnit{Unit: "cloud-config.service", Depth: 1, At: 52.11, Took: 10.63}, true},
		{"ASCII, a branch", "|-containerd.service @29.250s +7.700s", ChainUnit{Unit: "containerd.service", Depth: 1, At: 29.25, Took: 7.7}, true},
		{"ASCII, third level", "  | `-network.target @29.200s", ChainUnit{Unit: "network.target", Depth: 3, At: 29.2}, true},
		{"Unicode, second level", "  └─cloud-init-network.service @34.170s +17.930s", ChainUnit{Unit: "cloud-init-network.service", Depth: 2, At: 34.17, Took: 17.93}, true},
		{"Unicode, vertical bar", "│ ├─systemd-udevd.service @1min 20.100s +7.700s", ChainUnit{Unit: "systemd-udevd.service", Depth: 2, At: 80.1, Took: 7.7}, true},
		{"the root slice", "                    `--.slice @17.350s", ChainUnit{Unit: "-.slice", Depth: 11, At: 17.35}, true},
		{"an escaped name", "`-dev-disk-by\\x2dpartuuid-8ef2.device @9.1s", ChainUnit{Unit: "dev-disk-by\\x2dpartuuid-8ef2.device", Depth: 1, At: 9.1}, true},
		{"header", `The time when unit became active or started is printed after the "@" character.`, ChainUnit{}, false},
		{"empty", "", ChainUnit{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := ParseChainLine(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
	_, ok, err := ParseChainLine("cloud-config.service @12 parsecs")
	assert.False(t, ok)
	require.Error(t, err)
}

func TestParseBlameLine(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     BlameUnit
		err      bool
	}{
		{"minutes", "4min 31.060s kubebake-firstboot.service", BlameUnit{Unit: "kubebake-firstboot.service", Seconds: 271.06}, false},
		{"indented milliseconds", "   345ms systemd-journald.service", BlameUnit{Unit: "systemd-journald.service", Seconds: 0.345}, false},
		{"no unit", "4min", BlameUnit{}, true},
		{"no time", "much kubelet.service", BlameUnit{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBlameLine(tc.in)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseJournalLine(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     JournalLine
		ok       bool
	}{
		{"kubeadm's line", "[  105.581112] cp1 kubebake-firstboot[536]: [kubelet-start] Starting the kubelet", JournalLine{At: 105.581112, Host: "cp1", Ident: "kubebake-firstboot", PID: 536, Message: "[kubelet-start] Starting the kubelet"}, true},
		{"firstboot's own", "[   74.188875] cp1 kubebake-firstboot[536]: kubebake-firstboot: running kubeadm init --config /etc/kubebake/kubeadm.yaml", JournalLine{At: 74.188875, Host: "cp1", Ident: "kubebake-firstboot", PID: 536, Message: "kubebake-firstboot: running kubeadm init --config /etc/kubebake/kubeadm.yaml"}, true},
		{"systemd's", "[   73.640512] cp1 systemd[1]: Starting kubebake-firstboot.service - kubebake first boot...", JournalLine{At: 73.640512, Host: "cp1", Ident: "systemd", PID: 1, Message: "Starting kubebake-firstboot.service - kubebake first boot..."}, true},
		{"a tab-indented warning", "[   77.812626] cp1 kubebake-firstboot[536]: \t[WARNING ContainerRuntimeVersion]: You must update", JournalLine{At: 77.812626, Host: "cp1", Ident: "kubebake-firstboot", PID: 536, Message: "\t[WARNING ContainerRuntimeVersion]: You must update"}, true},
		{"no pid", "[    9.000001] cp1 kernel: Linux version 6.12", JournalLine{At: 9.000001, Host: "cp1", Ident: "kernel", Message: "Linux version 6.12"}, true},
		{"an empty message", "[   80.000000] cp1 kubebake-firstboot[536]:", JournalLine{At: 80, Host: "cp1", Ident: "kubebake-firstboot", PID: 536}, true},
		{"no entries", "-- No entries --", JournalLine{}, false},
		{"boot marker", "-- Boot 0c1d2e3f --", JournalLine{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseJournalLine(tc.in)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestAnalyzeParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Analyze
		err      bool
	}{
		{"kernel and userspace", "Startup finished in 10.910s (kernel) + 45.070s (userspace) = 55.980s ", Analyze{Components: map[string]float64{"kernel": 10.91, "userspace": 45.07}, Total: 55.98}, false},
		{"firmware, loader and initrd", "Startup finished in 3.100s (firmware) + 1.200s (loader) + 1.234s (kernel) + 2.000s (initrd) + 1min 5.678s (userspace) = 1min 13.212s",
			Analyze{Components: map[string]float64{"firmware": 3.1, "loader": 1.2, "kernel": 1.234, "initrd": 2, "userspace": 65.678}, Total: 73.212}, false},
		{"target", "multi-user.target reached after 38.850s in userspace.", Analyze{Target: "multi-user.target", TargetReached: 38.85}, false},
		{"target without a full stop", "graphical.target reached after 1min 0.5s in userspace", Analyze{Target: "graphical.target", TargetReached: 60.5}, false},
		{"not finished", "Bootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).", Analyze{}, false},
		{"a component without a name", "Startup finished in 10.910s = 10.910s", Analyze{}, true},
		{"a bad total", "Startup finished in 10.910s (kernel) = soon", Analyze{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a Analyze
			err := a.parse(tc.in)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, a)
		})
	}
}
