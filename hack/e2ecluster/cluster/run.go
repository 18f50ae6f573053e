package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
	"github.com/kubebake/kubebake/hack/e2ecluster/timeline"
	"github.com/kubebake/kubebake/internal/nocloud"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/userdata"
	"github.com/kubebake/kubebake/internal/vm"
)

// Options describe one run.
type Options struct {
	// Image is the kubebake image every node boots (read-only: each machine
	// writes to a throw-away snapshot).
	Image string
	// WorkDir holds seeds, serial logs and the link's socket.
	WorkDir string
	// Nodes, the first of which has role init.
	Nodes []Node
	// Cluster settings.
	Cluster Cluster
	// Bundle, when set, is a disk with a bundle (apply.WriteBundle, file
	// system labelled BundleLabel) that every node applies at boot before
	// kubebake-firstboot runs: the image is not baked.
	Bundle string
	// Accel is auto, kvm or tcg; QEMU the binary (default
	// qemu-system-x86_64).
	Accel, QEMU string
	// Timeout bounds the whole run; ReadyWait is how long the init node
	// waits for the cluster after its own success.
	Timeout, ReadyWait time.Duration
	// Progress receives what happens, as it happens.
	Progress io.Writer
	// JoinAfterInit starts the other nodes only once the init node's
	// kubebake-firstboot has reported success and its report script has
	// seen the control plane settle (SETTLED: the node Ready, every
	// kube-system pod there Running and Ready): they join a control plane
	// that is up (make bench-boot) rather than one still starting, which
	// under TCG takes the host's CPU from the joining node.
	JoinAfterInit bool
	// AfterSettled, with JoinAfterInit, runs once the init node's control
	// plane has settled and before the others start: make bench-boot boots
	// the plain base there, beside the control plane, to measure the
	// host's load in the join's slot. Its error ends the run.
	AfterSettled func(ctx context.Context) error
	// Timeline adds make bench-boot's timeline script to every node's user
	// data, timestamps each console on the host's clock, and waits for
	// every node's timeline after the reports (NodeResult.Host and
	// Guest).
	Timeline bool
}

// Result is what each node did, in Options.Nodes order.
type Result struct {
	Nodes []NodeResult
	// Pass is true when every node reported success and the init node saw
	// every node Ready and every kube-system pod Running.
	Pass bool
}

// NodeResult is one node's outcome.
type NodeResult struct {
	Node Node
	// FirstbootLine is kubebake-firstboot's console line.
	FirstbootLine string
	// Success is whether firstboot reported SUCCESS.
	Success bool
	// PowerOnToResult is the host's time from starting QEMU to the console
	// line.
	PowerOnToResult time.Duration
	// PowerCutAfter is the host's time from starting QEMU to the power cut
	// (Node.PowerCut), and PowerCutLine the console line that set it off;
	// zero when the node was not cut.
	PowerCutAfter time.Duration
	PowerCutLine  string
	// Report is what the node's report script wrote (see Parse).
	Report Report
	// SerialLog and ReportLog are the console and report files.
	SerialLog, ReportLog string
	// Host and Guest are the node's timeline figures (Options.Timeline):
	// what the host saw on its console, and what its timeline script
	// reported; TimelineError says why they are incomplete.
	Host          timeline.HostMarks
	Guest         timeline.Guest
	TimelineError string
}

// firstbootRE is kubebake-firstboot's one result line on the console.
var firstbootRE = regexp.MustCompile(`kubebake-firstboot: (SUCCESS|FAILED)[^\r\n]*`)

// SettledRE matches the line the init node's report script writes once its
// control plane has settled.
func SettledRE(node string) *regexp.Regexp {
	return regexp.MustCompile(`E2E ` + regexp.QuoteMeta(node) + ` SETTLED[^\r\n]*`)
}

// resultRE is the report script's last line.
var resultRE = regexp.MustCompile(`E2E \S+ RESULT (PASS|FAIL)[^\r\n]*`)

// machine is a started node.
type machine struct {
	node    Node
	m       *vm.Machine
	started time.Time
	serial  string
	report  string
	// qmp is the monitor socket, when the machine has one.
	qmp string
	// cut is closed once a power cut (Node.PowerCut) was made or failed;
	// cutAfter, cutLine and cutErr say how.
	cut      chan struct{}
	cutAfter time.Duration
	cutLine  string
	cutErr   error
	// watch timestamps the console (Options.Timeline).
	watch *serialWatch
}

// Run boots the nodes, waits for their results and stops them.
func Run(ctx context.Context, o Options) (*Result, error) {
	if len(o.Nodes) < 1 || o.Nodes[0].Role != "init" {
		return nil, errors.New("the first node must have role init")
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	image, err := existingImage(o.Image)
	if err != nil {
		return nil, err
	}
	secrets, accel, why, hub, err := setUp(ctx, o.WorkDir, o.Accel, o.QEMU)
	if err != nil {
		return nil, err
	}
	defer hub.Close()
	fmt.Fprintf(o.Progress, "e2e-cluster: %d nodes from %s, accelerator %s (%s)\n", len(o.Nodes), image, accel, why)

	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var machines []*machine
	defer func() {
		for _, mc := range machines {
			mc.m.Stop(10 * time.Second)
		}
	}()
	// With JoinAfterInit, the init node's result comes before the others
	// start.
	var initResult *NodeResult
	for i, n := range o.Nodes {
		if i == 1 && o.JoinAfterInit {
			nr, err := waitFirstboot(ctx, "e2e-cluster", machines[0], o.Progress)
			if err != nil {
				return nil, err
			}
			if !nr.Success {
				return nil, fmt.Errorf("%s failed (%s): the others would join no control plane (serial logs and reports in %s)", nr.Node.Name, nr.FirstbootLine, o.WorkDir)
			}
			initResult = nr
			line, err := machines[0].m.WaitFile(ctx, machines[0].report, SettledRE(nr.Node.Name), min(o.ReadyWait, time.Until(deadline(ctx))))
			if err != nil {
				return nil, fmt.Errorf("%s: its control plane did not settle: %w (serial logs and reports in %s)", nr.Node.Name, err, o.WorkDir)
			}
			if o.AfterSettled != nil {
				if err := o.AfterSettled(ctx); err != nil {
					return nil, fmt.Errorf("after %s settled: %w", nr.Node.Name, err)
				}
			}
			fmt.Fprintf(o.Progress, "e2e-cluster: %s: %s; starting the others\n", nr.Node.Name, line)
		}
		net := hub.Netdev()
		if n.IP == "" {
			// A lone node with QEMU's user network (NAT to this machine's
			// network), e.g. to install packages at boot.
			if len(o.Nodes) > 1 {
				return nil, fmt.Errorf("node %s has no address: only a lone node may use the user network", n.Name)
			}
			net = "user"
		}
		ud, err := userData(o, n, secrets)
		if err != nil {
			return nil, err
		}
		mc, err := start(ctx, o, accel, launch{node: n, image: image, userData: ud, bundle: o.Bundle, netdev: net})
		if err != nil {
			return nil, err
		}
		machines = append(machines, mc)
		fmt.Fprintf(o.Progress, "e2e-cluster: started %s (%s, %s, %s)\n", n.Name, n.Role, n.IP, n.MAC)
	}

	res := &Result{Pass: true}
	for i, mc := range machines {
		nr := initResult
		if i > 0 || nr == nil {
			var err error
			if nr, err = waitFirstboot(ctx, "e2e-cluster", mc, o.Progress); err != nil {
				return nil, err
			}
		}
		if mc.cut != nil {
			// A result before the power cut means the fault was never
			// injected: that run proves nothing.
			var cutErr error
			select {
			case <-mc.cut:
				cutErr = mc.cutErr
				nr.PowerCutAfter, nr.PowerCutLine = mc.cutAfter, mc.cutLine
			default:
				cutErr = fmt.Errorf("its result came before the console showed %q", mc.node.PowerCut)
			}
			if cutErr != nil {
				res.Pass = false
				fmt.Fprintf(o.Progress, "e2e-cluster: %s: no power cut: %v\n", mc.node.Name, cutErr)
			}
		}
		res.Nodes = append(res.Nodes, *nr)
	}
	// The init node's report comes last: it waits for the whole cluster.
	for i := len(machines) - 1; i >= 0; i-- {
		mc := machines[i]
		if _, err := mc.m.WaitFile(ctx, mc.report, resultRE, time.Until(deadline(ctx))); err != nil {
			res.Pass = false
			fmt.Fprintf(o.Progress, "e2e-cluster: %s: no report: %v\n", mc.node.Name, err)
		}
		b, _ := os.ReadFile(mc.report)
		res.Nodes[i].Report = Parse(b, mc.node.Name)
		if !res.Nodes[i].Success || !res.Nodes[i].Report.Pass {
			res.Pass = false
		}
	}
	if o.Timeline {
		// The timelines come once each node's boot has finished: the init
		// node's after its report (cloud-init's last stage runs it).
		for i, mc := range machines {
			readTimeline(ctx, mc, &res.Nodes[i], timelineWait(o.ReadyWait))
		}
	}
	return res, nil
}

// existingImage is path made absolute, when the image is there.
func existingImage(path string) (string, error) {
	image, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(image); err != nil {
		return "", fmt.Errorf("image: %w", err)
	}
	return image, nil
}

// waitFirstboot waits for mc's kubebake-firstboot console line and says
// it on progress, after who (e2e-cluster, e2e-rollout).
func waitFirstboot(ctx context.Context, who string, mc *machine, progress io.Writer) (*NodeResult, error) {
	nr := &NodeResult{Node: mc.node, SerialLog: mc.serial, ReportLog: mc.report}
	line, err := mc.m.WaitSerial(ctx, firstbootRE, time.Until(deadline(ctx)))
	if err != nil {
		return nil, fmt.Errorf("%s: waiting for kubebake-firstboot's result: %w\n--- last lines of its console ---\n%s", mc.node.Name, err, tailFile(mc.serial, 25))
	}
	nr.PowerOnToResult = time.Since(mc.started)
	nr.FirstbootLine = string(line)
	nr.Success = firstbootRE.FindSubmatch(line)[1][0] == 'S'
	fmt.Fprintf(progress, "%s: %s after %s: %s\n", who, mc.node.Name, nr.PowerOnToResult.Round(time.Second), nr.FirstbootLine)
	return nr, nil
}

// timelineWait is how long a node's timeline script waits for systemd to
// finish booting: on the init node that is after its report, which waits
// up to readyWait for the cluster.
func timelineWait(readyWait time.Duration) time.Duration { return readyWait + 15*time.Minute }

// readTimeline waits up to wait for mc's timeline script to finish, and
// fills nr's timeline figures with what there is.
func readTimeline(ctx context.Context, mc *machine, nr *NodeResult, wait time.Duration) {
	var problems []string
	if _, err := mc.m.WaitFile(ctx, mc.report, timeline.DoneRE(mc.node.Name), min(wait, time.Until(deadline(ctx)))); err != nil {
		problems = append(problems, fmt.Sprintf("no timeline: %v", err))
	}
	if mc.watch != nil {
		var err error
		if nr.Host, err = mc.watch.marks(); err != nil {
			problems = append(problems, fmt.Sprintf("console watch: %v", err))
		}
	}
	b, _ := os.ReadFile(mc.report)
	nr.Guest = timeline.ParseGuest(b, mc.node.Name)
	nr.TimelineError = strings.Join(problems, "; ")
}

// userData is n's user data in a run of o: its NodeConfig, the install
// script when o has a bundle, and the report script.
func userData(o Options, n Node, s Secrets) ([]byte, error) {
	nc, report, err := nodeParts(o, n, s)
	if err != nil {
		return nil, err
	}
	var install []byte
	if o.Bundle != "" {
		if install, err = InstallScript(n); err != nil {
			return nil, err
		}
	}
	var extra []userdata.Part
	if o.Timeline {
		mode := timeline.ModeJoin
		if n.Role == nodeconfig.RoleInit {
			mode = timeline.ModeInit
		}
		part, err := TimelinePart(timeline.ScriptOptions{Node: n.Name, Mode: mode, ReadyWait: o.ReadyWait, BootWait: timelineWait(o.ReadyWait)})
		if err != nil {
			return nil, err
		}
		extra = append(extra, part)
	}
	return UserData(nc, install, nil, report, n.PowerCut != "", extra...)
}

// nodeParts are n's NodeConfig and report script in a run of o.
func nodeParts(o Options, n Node, s Secrets) (nc, report []byte, err error) {
	controlPlanes := false
	for _, x := range o.Nodes {
		controlPlanes = controlPlanes || x.Role == "control-plane"
	}
	if nc, err = NodeConfig(n, o.Nodes[0], controlPlanes, o.Cluster, s); err != nil {
		return nil, nil, err
	}
	report, err = ReportScript(n, len(o.Nodes), o.ReadyWait)
	return nc, report, err
}

// setUp makes the work directory, the shared secrets, the accelerator
// and the link that every run of machines needs.
func setUp(ctx context.Context, workDir, accelMode, qemu string) (s Secrets, accel, why string, hub *Hub, err error) {
	if err = os.MkdirAll(workDir, 0o755); err != nil {
		return
	}
	if s, err = NewSecrets(); err != nil {
		return
	}
	if accel, why, err = vm.ResolveAccel(ctx, accelMode, qemu); err != nil {
		return
	}
	hub, err = NewHub(filepath.Join(workDir, "link.sock"))
	return
}

// launch is one machine to start.
type launch struct {
	node     Node
	image    string
	userData []byte
	// bundle, when set, is a bundle disk (see Options.Bundle).
	bundle string
	// netdev joins the machine to the link (or "user").
	netdev string
	// qmp gives the machine a monitor socket (a power cut or a graceful
	// power-off) without a power cut.
	qmp bool
}

// start writes the seed of l.node and starts its machine.
func start(ctx context.Context, o Options, accel string, l launch) (*machine, error) {
	n := l.node
	dir := filepath.Join(o.WorkDir, n.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var netcfg []byte
	var err error
	if n.IP != "" {
		if netcfg, err = NetworkConfig(n); err != nil {
			return nil, err
		}
	}
	seed := filepath.Join(dir, "seed.iso")
	if err := nocloud.WriteSeed(seed, nocloud.Seed{UserData: l.userData, MetaData: nocloud.DefaultMetaData("", n.Name), NetworkConfig: netcfg}); err != nil {
		return nil, err
	}
	mc := &machine{node: n, serial: filepath.Join(dir, "serial.log"), report: filepath.Join(dir, "report.log")}
	for _, f := range []string{mc.serial, mc.report} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			return nil, err
		}
	}
	cfg := vm.Config{
		Accel: accel, MemoryMiB: n.MemoryMiB, SMP: n.SMP, Snapshot: true,
		Disks:     []vm.Disk{{Path: l.image, Format: "qcow2"}, {Path: seed, Format: "raw", ReadOnly: true}},
		SerialLog: mc.serial, Serial2Log: mc.report, UUID: n.UUID, MAC: n.MAC, Net: l.netdev,
	}
	if l.bundle != "" {
		// Written to, but the snapshot keeps the file as it is.
		cfg.Disks = append(cfg.Disks, vm.Disk{Path: l.bundle, Format: "raw"})
	}
	if n.UplinkMAC != "" {
		// A second network card on QEMU's user network (NAT to this
		// machine's network): a node that installs packages at boot.
		cfg.Extra = append(cfg.Extra, "-netdev", "user,id=uplink0", "-device", "virtio-net-pci,netdev=uplink0,mac="+n.UplinkMAC)
	}
	if code, vars, err := vm.Firmware("", "", dir); err == nil {
		cfg.OVMFCode, cfg.OVMFVars = code, vars
	} else {
		fmt.Fprintf(o.Progress, "e2e-cluster: %v; booting %s with the BIOS\n", err, n.Name)
	}
	var cutRE *regexp.Regexp
	if n.PowerCut != "" {
		if cutRE, err = regexp.Compile(n.PowerCut); err != nil {
			return nil, fmt.Errorf("node %s: power cut: %w", n.Name, err)
		}
		cfg.Reboot = true
	}
	if n.PowerCut != "" || l.qmp {
		// The socket's path must fit a sockaddr_un.
		cfg.QMPSocket = filepath.Join(dir, "qmp.sock")
		if len(cfg.QMPSocket) > 100 {
			return nil, fmt.Errorf("work directory %s: the monitor socket's path is too long for a unix socket", o.WorkDir)
		}
		_ = os.Remove(cfg.QMPSocket)
		mc.qmp = cfg.QMPSocket
	}
	args, err := vm.Args(cfg)
	if err != nil {
		return nil, err
	}
	mc.started = time.Now()
	if mc.m, err = vm.Start(o.QEMU, args, mc.serial); err != nil {
		return nil, err
	}
	if o.Timeline {
		mc.watch = watchSerial(ctx, mc.serial, mc.started, mc.m.Done())
	}
	if cutRE != nil {
		mc.cut = make(chan struct{})
		go mc.powerCut(ctx, cutRE, cfg.QMPSocket, o.Progress)
	}
	return mc, nil
}

// powerCut resets the machine, as a power cut would, once its console
// matches re.
func (mc *machine) powerCut(ctx context.Context, re *regexp.Regexp, qmp string, progress io.Writer) {
	defer close(mc.cut)
	line, err := mc.m.WaitSerial(ctx, re, time.Until(deadline(ctx)))
	if err != nil {
		mc.cutErr = err
		return
	}
	if _, err := vm.QMP(ctx, qmp, "system_reset", nil); err != nil {
		mc.cutErr = err
		return
	}
	mc.cutAfter, mc.cutLine = time.Since(mc.started), string(line)
	fmt.Fprintf(progress, "e2e-cluster: %s: power cut (QMP system_reset) %s after power-on, at %q\n", mc.node.Name, mc.cutAfter.Round(time.Second), mc.cutLine)
}

func deadline(ctx context.Context) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Now().Add(time.Hour)
	}
	return d
}

func tailFile(path string, n int) string {
	b, _ := os.ReadFile(path)
	return sys.Tail(b, n)
}
