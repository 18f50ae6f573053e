package timeline

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var hostMarks = HostMarks{FirstOutput: 1.2, BootManager: 2.1, EFIStub: 2.6, FirstKernelLine: 3.9, KernelStart: 3.2}

// segment returns tl's segment named name.
func segment(t *testing.T, tl Timeline, name string) Segment {
	t.Helper()
	for _, s := range tl.Segments {
		if s.Name == name {
			return s
		}
	}
	var names []string
	for _, s := range tl.Segments {
		names = append(names, s.Name)
	}
	require.Failf(t, "no segment", "%q not among %q", name, names)
	return Segment{}
}

func hasSegment(tl Timeline, name string) bool {
	for _, s := range tl.Segments {
		if s.Name == name {
			return true
		}
	}
	return false
}

func TestBuildInit(t *testing.T) {
	g := ParseGuest(readFixture(t, "init-report.log"), "cp1")
	tl := Build(Input{Kind: KindInit, Node: "cp1", Round: 2, Host: hostMarks, Guest: g, PowerOnToResult: 350.4, PowerOnToKubeadm: 296.3})
	assert.Empty(t, tl.Missing)
	assert.Equal(t, "cp1", tl.Node)
	assert.Equal(t, 2, tl.Round)
	for _, tc := range []struct {
		name, group, clock string
		start, end         float64
	}{
		{"power-on → the firmware's first console output", GroupBoot, ClockHost, 0, 1.2},
		{"power-on → firmware starts the UKI (BdsDxe)", GroupBoot, ClockHost, 0, 2.1},
		{"power-on → the kernel's EFI stub", GroupBoot, ClockHost, 0, 2.6},
		{"firmware+loader: power-on → kernel start (estimated)", GroupBoot, ClockHost, 0, 3.2},
		{"power-on → first kernel line on the console", GroupBoot, ClockHost, 0, 3.9},
		{"kernel: start → /init (the initrd)", GroupBoot, ClockGuest, 0, 5.25},
		{"initrd: /init → systemd", GroupBoot, ClockGuest, 5.25, 10.85},
		{"systemd → kubebake-firstboot starts", GroupBoot, ClockGuest, 10.85, 73.65},
		// firstboot's phases, end to end from the unit's start.
		{"firstboot config", GroupFirstboot, ClockGuest, 73.65, 74.009},
		{"firstboot preflight", GroupFirstboot, ClockGuest, 74.009, 74.045},
		{"firstboot kubeadm", GroupFirstboot, ClockGuest, 74.045, 292.003},
		{"firstboot cni", GroupFirstboot, ClockGuest, 292.003, 344.063},
		// kubeadm's, from its first "running kubeadm" line, as the
		// journal timed them; [patches] inside etcd and control-plane
		// starts nothing.
		{"kubeadm start → its first line", GroupKubeadm, ClockGuest, 74.189, 76.541},
		{"kubeadm [init]", GroupKubeadm, ClockGuest, 76.541, 76.548},
		{"kubeadm [preflight]", GroupKubeadm, ClockGuest, 76.548, 81.741},
		{"kubeadm [certs]", GroupKubeadm, ClockGuest, 81.741, 98.431},
		{"kubeadm [etcd]", GroupKubeadm, ClockGuest, 103.911, 104.208},
		{"kubeadm [control-plane]", GroupKubeadm, ClockGuest, 104.208, 105.153},
		{"kubeadm [kubelet-start]", GroupKubeadm, ClockGuest, 105.153, 105.581},
		{KubeletStartedSegment, GroupKubeadm, ClockGuest, 105.581, 210.327},
		{"kubeadm [control-plane-check]", GroupKubeadm, ClockGuest, 210.665, 266.533},
		// The last phase ends with kubeadm's last line, after the phase's
		// end by firstboot's clock (292.003).
		{"kubeadm [addons]", GroupKubeadm, ClockGuest, 285.622, 292.162},
		{"kubeadm done → Node Ready", GroupNode, ClockGuest, 292.162, 361.48},
		{"total: kernel → kubeadm starts", GroupTotal, ClockGuest, 0, 74.045},
		{"total: kernel → kubeadm done", GroupTotal, ClockGuest, 0, 292.162},
		{"total: kernel → Node Ready", GroupTotal, ClockGuest, 0, 361.48},
		{"total: power-on → kubeadm starts", GroupTotal, ClockMixed, 0, 77.245},
		{"total: power-on → kubeadm success", GroupTotal, ClockHost, 0, 296.3},
		{"total: power-on → firstboot result", GroupTotal, ClockHost, 0, 350.4},
		{"total: power-on → Node Ready", GroupTotal, ClockMixed, 0, 364.68},
		{"unit cloud-config.service", GroupUnit, ClockGuest, 62.96, 73.6},
		{"unit kubebake-firstboot.service", GroupUnit, ClockGuest, 73.64, 344.71},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, Segment{Name: tc.name, Group: tc.group, Clock: tc.clock, Start: tc.start, End: tc.end}, segment(t, tl, tc.name))
		})
	}
	assert.False(t, hasSegment(tl, "kubeadm [patches]"))
	assert.False(t, hasSegment(tl, "unit cloud-init.service"), "not-found units have no row")
	assert.False(t, hasSegment(tl, "systemd → multi-user.target"), "the plain base's rows are the plain base's")

	assert.Equal(t, "kubebake-firstboot.service", tl.ChainOf)
	require.Len(t, tl.Chain, 12)
	assert.Equal(t, ChainUnit{Unit: "kubebake-firstboot.service", At: 73.64, Took: 271.06}, tl.Chain[0], "the unit's own start from its timestamps")
	assert.Equal(t, ChainUnit{Unit: "cloud-config.service", Depth: 1, At: 62.96, Took: 10.63}, tl.Chain[1], "@ is from systemd's start: on the kernel's clock it is later by systemd's start")
	assert.Equal(t, 10.85, tl.Analyze.Components["kernel"])
	assert.Len(t, tl.Blame, 8)
}

func TestBuildJoin(t *testing.T) {
	g := ParseGuest(readFixture(t, "join-report.log"), "worker1")
	tl := Build(Input{Kind: KindJoin, Node: "worker1", Host: hostMarks, Guest: g, PowerOnToResult: 433, PowerOnToKubeadm: 417})
	assert.Empty(t, tl.Missing)
	// The kubelet's TLS bootstrap comes back to [kubelet-start] after
	// [kubelet-check]: a segment of its own.
	assert.Equal(t, Segment{Name: "kubeadm [kubelet-start]", Group: GroupKubeadm, Clock: ClockGuest, Start: 364.226, End: 364.761}, segment(t, tl, "kubeadm [kubelet-start]"))
	assert.Equal(t, Segment{Name: KubeletStartedSegment, Group: GroupKubeadm, Clock: ClockGuest, Start: 364.761, End: 375.841}, segment(t, tl, KubeletStartedSegment))
	assert.Equal(t, Segment{Name: "kubeadm [kubelet-check]", Group: GroupKubeadm, Clock: ClockGuest, Start: 375.841, End: 383.032}, segment(t, tl, "kubeadm [kubelet-check]"))
	assert.Equal(t, Segment{Name: "kubeadm [kubelet-start] (2)", Group: GroupKubeadm, Clock: ClockGuest, Start: 383.032, End: 412.206}, segment(t, tl, "kubeadm [kubelet-start] (2)"))
	assert.Equal(t, Segment{Name: "kubeadm done → Node Ready", Group: GroupNode, Clock: ClockGuest, Start: 412.206, End: 447.61}, segment(t, tl, "kubeadm done → Node Ready"))
	assert.False(t, hasSegment(tl, "firstboot post-init"), "a join has no post-init phase")
	assert.False(t, hasSegment(tl, "kubeadm earlier attempts"), "one attempt")
}

func TestBuildBaseline(t *testing.T) {
	g := ParseGuest(readFixture(t, "join-report.log"), "worker1")
	tl := Build(Input{Kind: KindBaselineJoin, Node: "worker1", Host: hostMarks, Guest: g, InstallStart: 60.5, InstallDone: 110.25})
	assert.Equal(t, Segment{Name: "systemd → install at boot starts", Group: GroupBoot, Clock: ClockGuest, Start: 11.02, End: 60.5}, segment(t, tl, "systemd → install at boot starts"))
	assert.Equal(t, Segment{Name: "install at boot (the plan applied)", Group: GroupBoot, Clock: ClockGuest, Start: 60.5, End: 110.25}, segment(t, tl, "install at boot (the plan applied)"))
	assert.Equal(t, Segment{Name: "install done → kubebake-firstboot starts", Group: GroupBoot, Clock: ClockGuest, Start: 110.25, End: 114.422}, segment(t, tl, "install done → kubebake-firstboot starts"))
	assert.False(t, hasSegment(tl, "systemd → kubebake-firstboot starts"))
	assert.Equal(t, []string{"total: power-on → kubeadm success: not measured", "total: power-on → firstboot result: not measured"}, tl.Missing, "no host figures given")
}

func TestBuildPlain(t *testing.T) {
	g := ParseGuest(readFixture(t, "plain-report.log"), "base1")
	tl := Build(Input{Kind: KindBase, Node: "base1", Host: hostMarks, Guest: g})
	assert.Empty(t, tl.Missing)
	for _, tc := range []struct {
		name       string
		clock      string
		start, end float64
	}{
		{"initrd: /init → systemd", ClockGuest, 5.198, 10.91},
		{"systemd → multi-user.target", ClockGuest, 10.91, 49.75},
		{"systemd → cloud-init done (cloud-final)", ClockGuest, 10.91, 55.94},
		{"total: kernel → multi-user.target", ClockGuest, 0, 49.75},
		{"total: power-on → multi-user.target", ClockMixed, 0, 52.95},
		{"total: power-on → cloud-init done", ClockMixed, 0, 59.14},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := segment(t, tl, tc.name)
			assert.Equal(t, tc.clock, s.Clock)
			assert.Equal(t, tc.start, s.Start)
			assert.Equal(t, tc.end, s.End)
		})
	}
	for _, s := range tl.Segments {
		assert.NotContains(t, s.Name, "firstboot", "the plain base has no firstboot")
		assert.NotContains(t, s.Name, "kubeadm")
	}
	assert.Equal(t, "multi-user.target", tl.ChainOf)
	assert.Equal(t, ChainUnit{Unit: "multi-user.target", At: 49.75}, tl.Chain[0])
}

func TestBuildMissing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kind    string
		report  string
		host    HostMarks
		missing []string
		absent  []string
	}{
		{
			name: "the script never finished", kind: KindBase, report: "KUBEBAKE-TIMELINE n1 START plain 40.0\n",
			missing: []string{"no DONE line", "kernel+initrd: start → systemd: not measured", "systemd → multi-user.target: not measured", "firmware+loader: power-on → kernel start (estimated): not measured"},
			absent:  []string{"systemd → multi-user.target", "kernel: start → /init (the initrd)"},
		},
		{
			name: "firstboot failed", kind: KindInit, host: hostMarks,
			report: "KUBEBAKE-TIMELINE n1 STATUS {\"result\":\"failure\",\"phases\":[{\"name\":\"config\",\"seconds\":0.5,\"result\":\"success\"},{\"name\":\"kubeadm\",\"seconds\":30,\"result\":\"failure\"}]}\n" +
				"KUBEBAKE-TIMELINE n1 READY-FAILED kubebake-firstboot did not succeed\n" +
				"KUBEBAKE-TIMELINE n1 MANAGER UserspaceTimestampMonotonic=11000000\n" +
				"KUBEBAKE-TIMELINE n1 UNIT kubebake-firstboot.service ExecMainStartTimestampMonotonic=70000000\n" +
				"KUBEBAKE-TIMELINE n1 DONE 200\n",
			missing: []string{"Node Ready: kubebake-firstboot did not succeed", "kubeadm done → Node Ready: not measured", "no kubeadm output in the journal"},
			absent:  []string{"total: kernel → Node Ready"},
		},
		{
			name: "no status.json", kind: KindJoin, host: hostMarks,
			report:  "KUBEBAKE-TIMELINE n1 MANAGER UserspaceTimestampMonotonic=11000000\nKUBEBAKE-TIMELINE n1 DONE 200\n",
			missing: []string{"no status.json: firstboot's phases not measured", "systemd → kubebake-firstboot starts: not measured"},
			absent:  []string{"firstboot config", "total: kernel → kubeadm starts"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := Build(Input{Kind: tc.kind, Node: "n1", Host: tc.host, Guest: ParseGuest([]byte(tc.report), "n1")})
			all := strings.Join(tl.Missing, "\n")
			for _, m := range tc.missing {
				assert.Contains(t, all, m)
			}
			for _, a := range tc.absent {
				assert.False(t, hasSegment(tl, a), "%s", a)
			}
		})
	}
	// A failed phase is named so.
	tl := Build(Input{Kind: KindInit, Node: "n1", Guest: ParseGuest([]byte(
		"KUBEBAKE-TIMELINE n1 STATUS {\"result\":\"failure\",\"phases\":[{\"name\":\"kubeadm\",\"seconds\":30,\"result\":\"failure\"}]}\n"+
			"KUBEBAKE-TIMELINE n1 UNIT kubebake-firstboot.service ExecMainStartTimestampMonotonic=70000000\n"), "n1")})
	assert.Equal(t, Segment{Name: "firstboot kubeadm (failure)", Group: GroupFirstboot, Clock: ClockGuest, Start: 70, End: 100}, segment(t, tl, "firstboot kubeadm (failure)"))
}

func journal(lines ...string) []JournalLine {
	var out []JournalLine
	for _, l := range lines {
		j, ok := ParseJournalLine(l)
		if !ok {
			panic(l)
		}
		out = append(out, j)
	}
	return out
}

func TestKubeadmSegments(t *testing.T) {
	type span struct {
		name       string
		start, end float64
	}
	for _, tc := range []struct {
		name       string
		lines      []JournalLine
		start, end float64
		want       []span
		last       float64
	}{
		{
			name: "a join retried: the earlier attempt is one segment",
			lines: journal(
				"[  100.000000] w1 kubebake-firstboot[5]: kubebake-firstboot: running kubeadm join --config /etc/kubebake/kubeadm.yaml (attempt 1)",
				"[  101.000000] w1 kubebake-firstboot[5]: [preflight] Running pre-flight checks",
				"[  160.000000] w1 kubebake-firstboot[5]: error execution phase preflight: couldn't validate the identity of the API Server",
				"[  160.100000] w1 kubebake-firstboot[5]: kubebake-firstboot: kubeadm join failed (exit code 1); the control plane may not be up yet: reset, retry in 10s",
				"[  175.000000] w1 kubebake-firstboot[5]: kubebake-firstboot: running kubeadm join --config /etc/kubebake/kubeadm.yaml (attempt 2)",
				"[  176.500000] w1 kubebake-firstboot[5]: [preflight] Running pre-flight checks",
				"[  180.000000] w1 kubebake-firstboot[5]: [kubelet-start] Starting the kubelet",
				"[  190.000000] w1 kubebake-firstboot[5]: This node has joined the cluster:",
				"[  190.300000] w1 kubebake-firstboot[5]: kubebake-firstboot: waiting up to 20m0s for node w1's pod range",
			),
			start: 99.9, end: 190.2,
			want: []span{
				{"kubeadm earlier attempts", 99.9, 175},
				{"kubeadm start → its first line", 175, 176.5},
				{"kubeadm [preflight]", 176.5, 180},
				{"kubeadm [kubelet-start]", 180, 190.2},
			},
			last: 190,
		},
		{
			name: "other programs' lines and lines outside the phase are not kubeadm's",
			lines: journal(
				"[   50.000000] n1 kubebake-firstboot[5]: [preflight] from an earlier boot's phase",
				"[  100.000000] n1 kubebake-firstboot[5]: kubebake-firstboot: running kubeadm init --config /etc/kubebake/kubeadm.yaml",
				"[  101.000000] n1 systemd[1]: [certs] not kubeadm",
				"[  102.000000] n1 kubebake-firstboot[5]: [init] Using Kubernetes version: v1.36.3",
				"[  103.000000] n1 kubebake-firstboot[5]: [certs] Using certificateDir folder",
				"[  104.000000] n1 kubebake-firstboot[5]: [patches] Reading patches",
				"[  105.000000] n1 kubebake-firstboot[5]: [certs] Generating sa key",
				"[  106.000000] n1 kubebake-firstboot[5]: Your Kubernetes control-plane has initialized successfully!",
			),
			start: 99.8, end: 107,
			want: []span{
				{"kubeadm start → its first line", 100, 102},
				{"kubeadm [init]", 102, 103},
				{"kubeadm [certs]", 103, 107},
			},
			last: 106,
		},
		{
			name:  "no kubeadm output",
			lines: journal("[  100.000000] n1 kubebake-firstboot[5]: kubebake-firstboot: running kubeadm init --config /etc/kubebake/kubeadm.yaml"),
			start: 99.8, end: 107,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			segs, last := kubeadmSegments(tc.lines, tc.start, tc.end)
			var got []span
			for _, s := range segs {
				assert.Equal(t, GroupKubeadm, s.Group)
				assert.Equal(t, ClockGuest, s.Clock)
				got = append(got, span{s.Name, s.Start, s.End})
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.last, last)
		})
	}
}
