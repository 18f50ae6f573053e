// Package timeline measures where a node's boot spends its seconds (make
// bench-boot): from power-on to the firmware, the kernel, the initrd,
// systemd, kubebake-firstboot's phases, kubeadm's own phases and the
// node's Ready condition, or, for the plain base, to multi-user.target
// and cloud-init's end.
//
// Two clocks measure a boot, and every figure names its own:
//   - the host's: its monotonic clock from QEMU's start (power-on), read
//     while the serial console arrives (SerialClock);
//   - the guest's: its CLOCK_MONOTONIC from the kernel's start, as printk,
//     systemd, the journal and /proc/uptime give it; the guest's timeline
//     script (Script) prints it on the second serial port and ParseGuest
//     reads it.
//
// Build makes one boot's Timeline from both; Aggregate gives the median,
// minimum and maximum of each segment over runs; Print writes the table
// and Result is the machine-readable file beside it. Everything here is
// pure: the runner lives in package cluster and hack/benchboot.
package timeline

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kubebake/kubebake/firstboot"
)

// Clocks of a segment.
const (
	// ClockHost is the host's monotonic clock, in seconds from QEMU's start.
	ClockHost = "host"
	// ClockGuest is the guest's CLOCK_MONOTONIC, in seconds from its
	// kernel's start.
	ClockGuest = "guest"
	// ClockMixed is the host's estimate of the kernel's start (HostMarks.KernelStart)
	// plus a guest time: power-on to a point only the guest sees.
	ClockMixed = "host+guest"
)

// Groups of segments, in the order the table shows them.
const (
	GroupBoot      = "boot"
	GroupFirstboot = "firstboot"
	GroupKubeadm   = "kubeadm"
	// GroupPods is the runtime's containers: when each was created, from
	// the kubelet's start.
	GroupPods  = "pods"
	GroupNode  = "node"
	GroupTotal = "total"
	GroupUnit  = "unit"
)

// groupOrder ranks the groups for the table.
var groupOrder = map[string]int{GroupBoot: 0, GroupFirstboot: 1, GroupKubeadm: 2, GroupPods: 3, GroupNode: 4, GroupTotal: 5, GroupUnit: 6}

// Kinds of boot that make bench-boot measures.
const (
	KindInit         = "init"
	KindJoin         = "join"
	KindBase         = "base"
	KindBaselineInit = "baseline-init"
	KindBaselineJoin = "baseline-join"
	// KindBaseLoaded is the plain base booted beside a settled control
	// plane, in the slot the join boots in: what the host's load there
	// does to a boot that runs no kubeadm, the join's fair comparison.
	KindBaseLoaded = "base-loaded"
	// KindBeforeInit and KindBeforeJoin are the cluster from the image
	// bench-boot compares with (-compare: the same recipe baked before a
	// change), booted in the same rounds.
	KindBeforeInit = "before-init"
	KindBeforeJoin = "before-join"
)

// Kinds in the order the table shows them.
var Kinds = []string{KindInit, KindBeforeInit, KindJoin, KindBeforeJoin, KindBase, KindBaseLoaded, KindBaselineInit, KindBaselineJoin}

// KindTitle says what a kind is.
var KindTitle = map[string]string{
	KindInit:         "baked image, kubeadm init",
	KindJoin:         "baked image, kubeadm join to a control plane already up",
	KindBase:         "plain base image, no NodeConfig: to multi-user.target and cloud-init's end",
	KindBaseLoaded:   "plain base image, no NodeConfig, booted beside the baked init node once its control plane settled (the join's slot): to multi-user.target and cloud-init's end",
	KindBaselineInit: "plain base installing the same recipe at boot, kubeadm init",
	KindBaselineJoin: "plain base installing the same recipe at boot, kubeadm join to a control plane already up",
	KindBeforeInit:   "the image compared with (baked before the change), kubeadm init",
	KindBeforeJoin:   "the image compared with (baked before the change), kubeadm join to a control plane already up",
}

// Segment is one span of a boot on one clock, in seconds.
type Segment struct {
	Name  string  `json:"name"`
	Group string  `json:"group"`
	Clock string  `json:"clock"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// Seconds is the segment's length.
func (s Segment) Seconds() float64 { return s.End - s.Start }

// Timeline is one boot of one node.
type Timeline struct {
	Kind     string    `json:"kind"`
	Node     string    `json:"node"`
	Round    int       `json:"round"`
	Segments []Segment `json:"segments"`
	// ChainOf is the unit whose critical chain Chain is; the chain's At
	// are guest times from the kernel's start.
	ChainOf string      `json:"criticalChainOf,omitempty"`
	Chain   []ChainUnit `json:"criticalChain,omitempty"`
	// Blame is systemd-analyze blame's head.
	Blame []BlameUnit `json:"blame,omitempty"`
	// Analyze is systemd-analyze time's figures.
	Analyze Analyze `json:"systemdAnalyze"`
	// Missing says what this boot could not measure.
	Missing []string `json:"missing,omitempty"`
}

// Input is what one boot gave: the host's marks, the guest's report and
// the figures package cluster measured.
type Input struct {
	Kind  string
	Node  string
	Round int
	Host  HostMarks
	Guest Guest
	// PowerOnToResult and PowerOnToKubeadm are host times (seconds) from
	// QEMU's start to firstboot's console line and to kubeadm's success;
	// zero when unknown.
	PowerOnToResult, PowerOnToKubeadm float64
	// InstallStart and InstallDone are the guest's uptimes around the
	// install at boot (baseline kinds); zero when none.
	InstallStart, InstallDone float64
}

// Units whose activation the table shows (those the guest has), in this
// order: cloud-init's stages under both its old and new names, the
// network, the runtimes, kubebake-firstboot.
var Units = []string{
	"cloud-init-local.service", "cloud-init-main.service", "cloud-init-network.service", "cloud-init.service",
	"systemd-networkd-wait-online.service", "network-online.target", "cloud-config.service", "cloud-final.service",
	"containerd.service", "docker.service", "cri-docker.service", "crio.service",
	"kubebake-firstboot.service", "multi-user.target",
}

// Build lays one boot out as segments.
func Build(in Input) Timeline {
	b := &builder{t: Timeline{Kind: in.Kind, Node: in.Node, Round: in.Round, Analyze: in.Guest.Analyze, Blame: in.Guest.Blame}}
	g := in.Guest
	if !g.Done {
		b.miss("the guest's timeline script did not finish (no DONE line)")
	}
	for _, e := range g.Errors {
		b.miss("%s", e)
	}
	b.bootSegments(in)
	userspace := g.Manager["UserspaceTimestampMonotonic"]
	if in.Kind == KindBase || in.Kind == KindBaseLoaded {
		b.plainSegments(in, userspace)
	} else {
		b.firstbootSegments(in, userspace)
	}
	for _, u := range Units {
		unit, ok := g.Units[u]
		if !ok || unit.Load == "not-found" {
			continue
		}
		start, end := unit.Times["InactiveExitTimestampMonotonic"], unit.Times["ActiveEnterTimestampMonotonic"]
		if start > 0 && end >= start {
			b.add("unit "+u, GroupUnit, ClockGuest, start, end)
		}
	}
	if userspace > 0 {
		for _, c := range g.Chain {
			switch {
			case c.At >= 0:
				c.At = round3(c.At + userspace)
			case c.Depth == 0:
				// systemd-analyze prints no "@" for the unit itself when
				// it prints "+": its activation's start is in Units.
				if at := g.Units[c.Unit].Times["InactiveExitTimestampMonotonic"]; at > 0 {
					c.At = at
				}
			}
			b.t.Chain = append(b.t.Chain, c)
		}
		if len(g.Chain) > 0 {
			b.t.ChainOf = g.Chain[0].Unit
		}
	} else if len(g.Chain) > 0 {
		b.miss("a critical chain but no UserspaceTimestampMonotonic to place it")
	}
	return b.t
}

type builder struct{ t Timeline }

func (b *builder) add(name, group, clock string, start, end float64) {
	b.t.Segments = append(b.t.Segments, Segment{Name: name, Group: group, Clock: clock, Start: round3(start), End: round3(end)})
}

func (b *builder) miss(format string, args ...any) {
	b.t.Missing = append(b.t.Missing, fmt.Sprintf(format, args...))
}

// span adds a segment when both ends are known and in order, and says
// what is missing otherwise.
func (b *builder) span(name, group, clock string, start, end float64, startKnown, endKnown bool) {
	switch {
	case !startKnown || !endKnown:
		b.miss("%s: not measured", name)
	case end < start:
		b.miss("%s: ends (%.3f) before it starts (%.3f)", name, end, start)
	default:
		b.add(name, group, clock, start, end)
	}
}

// bootSegments: power-on to the kernel (host), the kernel, the initrd.
func (b *builder) bootSegments(in Input) {
	h, g := in.Host, in.Guest
	if h.FirstOutput > 0 {
		b.add("power-on → the firmware's first console output", GroupBoot, ClockHost, 0, h.FirstOutput)
	}
	if h.BootManager > 0 {
		b.add("power-on → firmware starts the UKI (BdsDxe)", GroupBoot, ClockHost, 0, h.BootManager)
	}
	if h.EFIStub > 0 {
		b.add("power-on → the kernel's EFI stub", GroupBoot, ClockHost, 0, h.EFIStub)
	}
	b.span("firmware+loader: power-on → kernel start (estimated)", GroupBoot, ClockHost, 0, h.KernelStart, true, h.KernelStart > 0)
	b.span("power-on → first kernel line on the console", GroupBoot, ClockHost, 0, h.FirstKernelLine, true, h.FirstKernelLine > 0)
	userspace := g.Manager["UserspaceTimestampMonotonic"]
	initrd := g.RunInit
	if initrd == 0 {
		initrd = h.RunInit
	}
	if initrd > 0 {
		b.add("kernel: start → /init (the initrd)", GroupBoot, ClockGuest, 0, initrd)
		b.span("initrd: /init → systemd", GroupBoot, ClockGuest, initrd, userspace, true, userspace > 0)
	} else {
		b.span("kernel+initrd: start → systemd", GroupBoot, ClockGuest, 0, userspace, true, userspace > 0)
	}
}

// plainSegments: the plain base's systemd to multi-user.target and to
// cloud-init's end.
func (b *builder) plainSegments(in Input, userspace float64) {
	g := in.Guest
	multiUser := g.Units["multi-user.target"].Times["ActiveEnterTimestampMonotonic"]
	cloudDone := g.Units["cloud-final.service"].Times["ActiveEnterTimestampMonotonic"]
	if exit := g.Units["cloud-final.service"].Times["ExecMainExitTimestampMonotonic"]; exit > 0 {
		cloudDone = exit
	}
	b.span("systemd → multi-user.target", GroupBoot, ClockGuest, userspace, multiUser, userspace > 0, multiUser > 0)
	b.span("systemd → cloud-init done (cloud-final)", GroupBoot, ClockGuest, userspace, cloudDone, userspace > 0, cloudDone > 0)
	b.span("total: kernel → multi-user.target", GroupTotal, ClockGuest, 0, multiUser, true, multiUser > 0)
	b.span("total: kernel → cloud-init done", GroupTotal, ClockGuest, 0, cloudDone, true, cloudDone > 0)
	k := in.Host.KernelStart
	b.span("total: power-on → multi-user.target", GroupTotal, ClockMixed, 0, k+multiUser, true, k > 0 && multiUser > 0)
	b.span("total: power-on → cloud-init done", GroupTotal, ClockMixed, 0, k+cloudDone, true, k > 0 && cloudDone > 0)
}

// firstbootSegments: systemd to firstboot (through the install at boot
// for a baseline), firstboot's phases, kubeadm's, Node Ready, totals.
func (b *builder) firstbootSegments(in Input, userspace float64) {
	g := in.Guest
	fb := g.Units["kubebake-firstboot.service"]
	fbStart := fb.Times["ExecMainStartTimestampMonotonic"]
	if fbStart == 0 {
		fbStart = fb.Times["InactiveExitTimestampMonotonic"]
	}
	if in.InstallDone > 0 {
		b.span("systemd → install at boot starts", GroupBoot, ClockGuest, userspace, in.InstallStart, userspace > 0, in.InstallStart > 0)
		b.span("install at boot (the plan applied)", GroupBoot, ClockGuest, in.InstallStart, in.InstallDone, in.InstallStart > 0, true)
		b.span("install done → kubebake-firstboot starts", GroupBoot, ClockGuest, in.InstallDone, fbStart, true, fbStart > 0)
	} else {
		b.span("systemd → kubebake-firstboot starts", GroupBoot, ClockGuest, userspace, fbStart, userspace > 0, fbStart > 0)
	}
	kubeadmStart, kubeadmEnd := 0.0, 0.0
	s := g.Status
	switch {
	case s == nil:
		b.miss("no status.json: firstboot's phases not measured")
	case fbStart == 0:
		b.miss("no start time of kubebake-firstboot.service: its phases cannot be placed")
	default:
		// The phases run one after the other from the unit's start; each
		// lasts what status.json says (firstboot's own clock).
		at := fbStart
		for _, p := range s.Phases {
			name := "firstboot " + p.Name
			if p.Result != firstboot.ResultSuccess {
				name += " (" + p.Result + ")"
			}
			b.add(name, GroupFirstboot, ClockGuest, at, at+p.Seconds)
			if p.Name == "kubeadm" {
				kubeadmStart, kubeadmEnd = at, at+p.Seconds
			}
			at += p.Seconds
		}
		if kubeadmEnd == 0 {
			b.miss("no kubeadm phase in status.json (result %s)", s.Result)
		}
	}
	if kubeadmEnd > 0 {
		segs, last := kubeadmSegments(g.Journal, kubeadmStart, kubeadmEnd)
		if len(segs) == 0 {
			b.miss("no kubeadm output in the journal")
		}
		b.t.Segments = append(b.t.Segments, segs...)
		b.containerSegments(g.Containers, kubeletStarted(segs))
		// The journal may time kubeadm's last line a little after the
		// phase's end by firstboot's clock; the later one ends kubeadm.
		kubeadmEnd = max(kubeadmEnd, last)
	}
	if g.ReadyError != "" {
		b.miss("Node Ready: %s", g.ReadyError)
	}
	b.span("kubeadm done → Node Ready", GroupNode, ClockGuest, kubeadmEnd, g.Ready, kubeadmEnd > 0, g.Ready > 0)
	b.span("total: kernel → kubeadm starts", GroupTotal, ClockGuest, 0, kubeadmStart, true, kubeadmStart > 0)
	b.span("total: kernel → kubeadm done", GroupTotal, ClockGuest, 0, kubeadmEnd, true, kubeadmEnd > 0)
	b.span("total: kernel → Node Ready", GroupTotal, ClockGuest, 0, g.Ready, true, g.Ready > 0)
	k := in.Host.KernelStart
	b.span("total: power-on → kubeadm starts", GroupTotal, ClockMixed, 0, k+kubeadmStart, true, k > 0 && kubeadmStart > 0)
	b.span("total: power-on → kubeadm success", GroupTotal, ClockHost, 0, in.PowerOnToKubeadm, true, in.PowerOnToKubeadm > 0)
	b.span("total: power-on → firstboot result", GroupTotal, ClockHost, 0, in.PowerOnToResult, true, in.PowerOnToResult > 0)
	b.span("total: power-on → Node Ready", GroupTotal, ClockMixed, 0, k+g.Ready, true, k > 0 && g.Ready > 0)
}

// kubeadmTagRE is a kubeadm output line's phase tag: "[certs] ...".
var kubeadmTagRE = regexp.MustCompile(`^\[([a-z][a-z0-9-]*)\] `)

// attemptRE is firstboot's line before each kubeadm run.
var attemptRE = regexp.MustCompile(`^kubebake-firstboot: running kubeadm (init|join)\b`)

// kubeletStarting is kubeadm's line when it (re)starts the kubelet.
const kubeletStarting = "Starting the kubelet"

// KubeletStartedSegment is the part of kubeadm's [kubelet-start] after it
// has started the kubelet: on init, the static Pods starting until
// kube-apiserver answers.
const KubeletStartedSegment = "kubeadm [kubelet-start] kubelet started → next line (init: API server answers)"

// minorTags are kubeadm tags that report on the phase around them rather
// than start one: kubeadm prints [patches] inside etcd, control-plane
// and kubelet-start.
var minorTags = map[string]bool{"patches": true}

// kubeadmSegments splits kubeadm's output between start and end (the
// kubeadm phase by firstboot's clock) into its phases, as the journal
// timed each line: a phase runs from the first line of its tag to the
// first line of the next; a tag that comes back later is another segment,
// numbered ("kubeadm [kubelet-start] (2)"). Earlier attempts (a join
// retried) are one segment; so is kubeadm's start before its first line.
// last is the time of kubeadm's last line (0 when none).
func kubeadmSegments(lines []JournalLine, start, end float64) (segs []Segment, last float64) {
	// The journal receives a line a little after firstboot's clock saw
	// it, more so on a busy guest: a second of slack before the phase, a
	// minute after it.
	var in []JournalLine
	for _, l := range lines {
		if l.Ident == "kubebake-firstboot" && l.At >= start-1 && l.At <= end+60 {
			in = append(in, l)
		}
	}
	// The last attempt runs from firstboot's last "running kubeadm" line.
	from, attempts, lastAttempt := start, 0, -1
	for i, l := range in {
		if attemptRE.MatchString(l.Message) {
			attempts, lastAttempt = attempts+1, i
		}
	}
	if lastAttempt >= 0 {
		from, in = in[lastAttempt].At, in[lastAttempt+1:]
	}
	if attempts > 1 {
		segs = append(segs, Segment{Name: "kubeadm earlier attempts", Group: GroupKubeadm, Clock: ClockGuest, Start: round3(start), End: round3(from)})
	}
	type mark struct {
		tag, name string
		at        float64
	}
	var marks []mark
	for _, l := range in {
		if strings.HasPrefix(l.Message, "kubebake-firstboot: ") {
			if len(marks) > 0 {
				break // firstboot speaks again: kubeadm is done
			}
			continue
		}
		m := kubeadmTagRE.FindStringSubmatch(l.Message)
		if m == nil {
			if len(marks) > 0 {
				last = l.At
			}
			continue
		}
		last = l.At
		if m[1] == "kubelet-start" && strings.Contains(l.Message, kubeletStarting) && len(marks) > 0 && marks[len(marks)-1].name == "kubeadm [kubelet-start]" {
			// kubeadm has written the kubelet's files and restarts it;
			// what follows is the kubelet starting the static Pods and,
			// on init, kube-apiserver coming up: the next phase's first
			// line is printed once kubeadm's admin ClusterRoleBinding
			// call succeeds.
			marks = append(marks, mark{m[1], KubeletStartedSegment, l.At})
			continue
		}
		if minorTags[m[1]] || (len(marks) > 0 && marks[len(marks)-1].tag == m[1]) {
			continue
		}
		marks = append(marks, mark{m[1], "kubeadm [" + m[1] + "]", l.At})
	}
	if len(marks) == 0 {
		return segs, 0
	}
	segs = append(segs, Segment{Name: "kubeadm start → its first line", Group: GroupKubeadm, Clock: ClockGuest, Start: round3(from), End: round3(max(from, marks[0].at))})
	seen := map[string]int{}
	stop := max(end, last)
	for i, m := range marks {
		seen[m.name]++
		name := m.name
		if n := seen[m.name]; n > 1 {
			name += fmt.Sprintf(" (%d)", n)
		}
		next := stop
		if i+1 < len(marks) {
			next = marks[i+1].at
		}
		segs = append(segs, Segment{Name: name, Group: GroupKubeadm, Clock: ClockGuest, Start: round3(m.at), End: round3(next)})
	}
	return segs, last
}

// round3 rounds to milliseconds, as systemd and firstboot measure.
func round3(v float64) float64 {
	if v < 0 {
		return -round3(-v)
	}
	return float64(int64(v*1000+0.5)) / 1000
}
