package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/kubebake/kubebake/internal/vm"
)

// RolloutOptions describe a rolling replacement of a node pool (make
// e2e-rollout): a control plane and one worker from image A, then a
// worker from image B with the same user data, the drain and graceful
// power-off of A's worker, a worker whose kubelet is too new (Skew), and
// the replacement once more from the plain base installing B's recipe at
// boot (Baseline).
type RolloutOptions struct {
	// ImageA and ImageB are the two images; PlanA and PlanB the node label
	// values of their plans (kubebake.dev/plan).
	ImageA, ImageB, PlanA, PlanB string
	// Skew, when set, is an image whose kubelet is newer than image A's
	// control plane: a worker from it must fail at once with reason
	// version-skew.
	Skew string
	// Base and Bundle, when set, are the plain base image and a bundle disk
	// of B's recipe (WriteBundleDisk): the baseline replacement.
	Base, Bundle string
	// Workload is what stays available.
	Workload Workload
	// WorkDir, Cluster, Accel, QEMU, Timeout and ReadyWait as in Options.
	WorkDir     string
	Cluster     Cluster
	Accel, QEMU string
	Timeout     time.Duration
	ReadyWait   time.Duration
	Progress    io.Writer
	// PowerOffWait bounds a graceful power-off (default 5 minutes).
	PowerOffWait time.Duration
}

// ControlPlaneNice is the control plane's nice value once three machines
// share the host.
const ControlPlaneNice = -5

// WantFactsB is the FACTS line of a worker from make e2e-rollout's image
// B, which adds the package jq and the sysctl vm.max_map_count=262144.
const WantFactsB = "vm.max_map_count=262144 jq=/usr/bin/jq"

// RolloutResult is what the rollout measured.
type RolloutResult struct {
	// ControlPlane and Old are the first two nodes' results; New the
	// replacement's; Skew and Baseline those of the extra nodes (nil when
	// not run).
	ControlPlane, Old, New, Skew, Baseline *NodeResult
	// NewPowerOnToReady and BaselinePowerOnToReady are host times from
	// starting the machine to the node's own report of its Node Ready.
	NewPowerOnToReady, BaselinePowerOnToReady time.Duration
	// Replacement is the time from the init node's call for the
	// replacement to its last Node of image A deleted (the init node's
	// clock); Drain the drain's
	// seconds (the init node's clock); PowerOff the graceful power-off,
	// from QMP's system_powerdown to QEMU's exit.
	Replacement, PowerOff time.Duration
	Drain                 float64
	// Lowest is the fewest Ready workload pods seen; -1 when unknown.
	Lowest int
	// SkewReason is the skew node's status.json reason.
	SkewReason string
	// Failures says what went wrong; empty means PASS.
	Failures []string
}

// Pass is true when nothing failed.
func (r *RolloutResult) Pass() bool { return len(r.Failures) == 0 }

func (r *RolloutResult) fail(format string, args ...any) {
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
}

// rolloutStepRE matches one of the init node's ROLLOUT lines, or its
// result.
func rolloutStepRE(node, step string) *regexp.Regexp {
	return regexp.MustCompile(`E2E ` + regexp.QuoteMeta(node) + ` (ROLLOUT ` + step + `|ROLLOUT-RESULT)[^\r\n]*`)
}

// Rollout runs the replacement. Its error is for what stops it from
// measuring at all; what it measured and what failed is in the result.
func Rollout(ctx context.Context, o RolloutOptions) (*RolloutResult, error) {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.PowerOffWait == 0 {
		o.PowerOffWait = 5 * time.Minute
	}
	for _, p := range []*string{&o.ImageA, &o.ImageB, &o.Skew, &o.Base, &o.Bundle} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, err
		}
		*p = abs
	}
	secrets, accel, why, hub, err := setUp(ctx, o.WorkDir, o.Accel, o.QEMU)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	defer hub.Close()

	cp := Node{Name: "cp1", Role: "init", IP: "192.168.76.11", MAC: "52:54:00:6b:62:11", UUID: uuid.NewString(), MemoryMiB: 3072}
	// The pool's user data: no name, no address (each machine's host name
	// and address come from its meta-data and network configuration, as
	// on a cloud), so every worker of the pool gets the same bytes.
	pool := Node{Role: "join"}
	workers := []Node{{Name: "worker-a"}, {Name: "worker-b"}, {Name: "worker-skew"}, {Name: "worker-base"}}
	for i := range workers {
		workers[i].Role, workers[i].SMP, workers[i].MemoryMiB = "join", 1, 2048
		workers[i].IP = fmt.Sprintf("192.168.76.%d", 21+i)
		workers[i].MAC = fmt.Sprintf("52:54:00:6b:62:%02x", 0x21+i)
		workers[i].UUID = uuid.NewString()
	}
	// The baseline installs packages at boot: a second card with NAT.
	workers[3].UplinkMAC = "52:54:00:6b:63:24"
	fmt.Fprintf(o.Progress, "e2e-rollout: accelerator %s (%s); image A %s (plan %s), image B %s (plan %s)\n", accel, why, o.ImageA, o.PlanA, o.ImageB, o.PlanB)

	run := Options{WorkDir: o.WorkDir, Nodes: []Node{cp, pool}, Cluster: o.Cluster, Accel: accel, QEMU: o.QEMU, ReadyWait: o.ReadyWait, Progress: o.Progress}
	cpUD, err := rolloutUserData(run, cp, secrets, o)
	if err != nil {
		return nil, err
	}
	poolUD, err := userData(run, pool, secrets)
	if err != nil {
		return nil, err
	}
	var machines []*machine
	defer func() {
		for _, mc := range machines {
			mc.m.Stop(10 * time.Second)
		}
	}()
	boot := func(n Node, image string, ud []byte, bundle string) (*machine, error) {
		mc, err := start(ctx, run, accel, launch{node: n, image: image, userData: ud, bundle: bundle, netdev: hub.Netdev(), qmp: true})
		if err != nil {
			return nil, err
		}
		machines = append(machines, mc)
		fmt.Fprintf(o.Progress, "e2e-rollout: started %s (%s, %s) from %s\n", n.Name, n.Role, n.IP, filepath.Base(image))
		return mc, nil
	}
	res := &RolloutResult{Lowest: -1}

	// The pool as it was: a control plane and a worker from image A.
	cpm, err := boot(cp, o.ImageA, cpUD, "")
	if err != nil {
		return nil, err
	}
	oldm, err := boot(workers[0], o.ImageA, poolUD, "")
	if err != nil {
		return nil, err
	}
	if res.ControlPlane, err = waitFirstboot(ctx, "e2e-rollout", cpm, o.Progress); err != nil {
		return nil, err
	}
	if res.Old, err = waitFirstboot(ctx, "e2e-rollout", oldm, o.Progress); err != nil {
		return nil, err
	}

	// The replacement, when the init node asks for it.
	line, err := cpm.m.WaitFile(ctx, cpm.report, rolloutStepRE(cp.Name, "BOOT-REPLACEMENT"), time.Until(deadline(ctx)))
	if err != nil {
		return nil, fmt.Errorf("waiting for the init node to deploy the workload: %w\n%s", err, tailFile(cpm.report, 30))
	}
	if bytes.Contains(line, []byte("ROLLOUT-RESULT")) {
		res.fail("the init node stopped before the replacement: %s", line)
		res.ControlPlane.Report = parseReport(cpm)
		return res, nil
	}
	// From here three machines share the host. Under TCG on two cores,
	// sharing alike starved the control plane: its API server stopped
	// answering within 10 s and the replacement's TLS bootstrap ran out
	// after 20 minutes (control plane 150% of a core, each worker about
	// 20%). On a cloud each machine has CPUs of its own; here the control
	// plane gets the larger share (nice -5, about three times a worker's
	// per CPU) and the workers what it leaves. Before, with two machines,
	// alike is enough, and at nice -10 from power-on the first worker
	// barely booted.
	if err := vm.Renice(cpm.m.Pid(), ControlPlaneNice); err != nil {
		return nil, fmt.Errorf("%s: %w", cp.Name, err)
	}
	newm, err := boot(workers[1], o.ImageB, poolUD, "")
	if err != nil {
		return nil, err
	}
	if res.New, err = waitFirstboot(ctx, "e2e-rollout", newm, o.Progress); err != nil {
		return nil, err
	}
	if d, err := waitReady(ctx, newm); err != nil {
		res.fail("%s: %v", newm.node.Name, err)
	} else {
		res.NewPowerOnToReady = d
		fmt.Fprintf(o.Progress, "e2e-rollout: %s Ready %s after power-on\n", newm.node.Name, d.Round(time.Second))
	}

	// The graceful power-off of the old worker, once drained.
	line, err = cpm.m.WaitFile(ctx, cpm.report, rolloutStepRE(cp.Name, "POWEROFF "+regexp.QuoteMeta(workers[0].Name)), time.Until(deadline(ctx)))
	if err != nil {
		return nil, fmt.Errorf("waiting for the drain of %s: %w\n%s", workers[0].Name, err, tailFile(cpm.report, 30))
	}
	if !bytes.Contains(line, []byte("ROLLOUT-RESULT")) {
		t0 := time.Now()
		if _, err := vm.QMP(ctx, oldm.qmp, "system_powerdown", nil); err != nil {
			res.fail("%s: system_powerdown: %v", workers[0].Name, err)
		} else if err := oldm.m.Wait(ctx, o.PowerOffWait); err != nil {
			res.fail("%s: no graceful power-off within %s: %v", workers[0].Name, o.PowerOffWait, err)
		} else {
			res.PowerOff = time.Since(t0)
			fmt.Fprintf(o.Progress, "e2e-rollout: %s powered off gracefully in %s\n", workers[0].Name, res.PowerOff.Round(time.Second))
		}
	}
	if _, err := cpm.m.WaitFile(ctx, cpm.report, regexp.MustCompile(`E2E `+cp.Name+` ROLLOUT-RESULT[^\r\n]*`), time.Until(deadline(ctx))); err != nil {
		return nil, fmt.Errorf("waiting for the rollout's result: %w\n%s", err, tailFile(cpm.report, 30))
	}
	res.ControlPlane.Report = parseReport(cpm)
	res.Old.Report = parseReport(oldm)
	res.New.Report = parseReport(newm)
	r := res.ControlPlane.Report
	if !r.RolloutPass {
		res.fail("rollout: %s", r.RolloutDetail)
	}
	var asked, deleted float64
	for _, s := range r.Rollout {
		last := 0.0
		if len(s.Args) > 0 {
			last, _ = strconv.ParseFloat(s.Args[len(s.Args)-1], 64)
		}
		switch {
		case s.Step == "BOOT-REPLACEMENT":
			asked = last
		case s.Step == "DRAINED" && len(s.Args) >= 2:
			res.Drain, _ = strconv.ParseFloat(s.Args[1], 64)
		case s.Step == "DELETED":
			deleted = last
		}
	}
	if asked > 0 && deleted > asked {
		res.Replacement = time.Duration((deleted - asked) * float64(time.Second))
	}
	if len(r.Avail) > 0 {
		res.Lowest = r.Avail[0].Ready
		for _, a := range r.Avail {
			res.Lowest = min(res.Lowest, a.Ready)
		}
	}
	// The visible change: B's worker has the package and the sysctl that
	// B's recipe adds, A's has neither.
	if f := res.New.Report.Facts; f != WantFactsB {
		res.fail("%s from image B: want %q, got %q", workers[1].Name, WantFactsB, f)
	}
	if f := res.Old.Report.Facts; f == WantFactsB {
		res.fail("%s from image A: it has image B's %q", workers[0].Name, f)
	}
	fmt.Fprintf(o.Progress, "e2e-rollout: rollout %s: %s\n", map[bool]string{true: "PASS", false: "FAIL"}[r.RolloutPass], r.RolloutDetail)

	// A worker whose kubelet is newer than the control plane.
	if o.Skew != "" {
		m, err := boot(workers[2], o.Skew, poolUD, "")
		if err != nil {
			return nil, err
		}
		if res.Skew, err = waitFirstboot(ctx, "e2e-rollout", m, o.Progress); err != nil {
			return nil, err
		}
		if _, err := m.m.WaitFile(ctx, m.report, resultRE, 5*time.Minute); err != nil {
			res.fail("%s: no report: %v", m.node.Name, err)
		}
		res.Skew.Report = parseReport(m)
		if s := res.Skew.Report.Status; s != nil {
			res.SkewReason = s.Reason
		}
		if res.Skew.Success || res.SkewReason != "version-skew" {
			res.fail("%s: want a failure with reason version-skew, got %q (%s)", m.node.Name, res.SkewReason, res.Skew.FirstbootLine)
		}
		m.m.Stop(10 * time.Second)
	}

	// The same replacement from the plain base, installing B's recipe at
	// boot.
	if o.Base != "" && o.Bundle != "" {
		install, err := InstallScript(workers[3])
		if err != nil {
			return nil, err
		}
		nc, report, err := nodeParts(run, pool, secrets)
		if err != nil {
			return nil, err
		}
		ud, err := UserData(nc, install, nil, report, false)
		if err != nil {
			return nil, err
		}
		m, err := boot(workers[3], o.Base, ud, o.Bundle)
		if err != nil {
			return nil, err
		}
		if res.Baseline, err = waitFirstboot(ctx, "e2e-rollout", m, o.Progress); err != nil {
			return nil, err
		}
		if d, err := waitReady(ctx, m); err != nil {
			res.fail("%s: %v", m.node.Name, err)
		} else {
			res.BaselinePowerOnToReady = d
			fmt.Fprintf(o.Progress, "e2e-rollout: %s Ready %s after power-on\n", m.node.Name, d.Round(time.Second))
		}
		res.Baseline.Report = finalReport(ctx, m)
	}
	return res, nil
}

// rolloutUserData is the init node's user data: its NodeConfig, the
// report script and the rollout script.
func rolloutUserData(run Options, cp Node, s Secrets, o RolloutOptions) ([]byte, error) {
	nc, report, err := nodeParts(run, cp, s)
	if err != nil {
		return nil, err
	}
	rollout, err := RolloutScript(cp, o.PlanA, o.PlanB, o.Workload)
	if err != nil {
		return nil, err
	}
	return UserData(nc, nil, rollout, report, false)
}

// readyRE is a joined node's report of its own Node Ready.
var readyRE = regexp.MustCompile(`E2E \S+ (READY|RESULT)[^\r\n]*`)

// waitReady waits for mc's report of its Node Ready and returns the host
// time from power-on.
func waitReady(ctx context.Context, mc *machine) (time.Duration, error) {
	line, err := mc.m.WaitFile(ctx, mc.report, readyRE, time.Until(deadline(ctx)))
	if err != nil {
		return 0, fmt.Errorf("waiting for its Node Ready: %w", err)
	}
	if !bytes.Contains(line, []byte(" READY ")) {
		return 0, fmt.Errorf("not Ready: %s", line)
	}
	return time.Since(mc.started), nil
}

// reportGrace is how long a node's report may take to write its verdict
// after its Node Ready (it looks at the node's facts in between).
const reportGrace = 3 * time.Minute

// finalReport waits, for reportGrace at the most, until mc's report has its
// verdict, and reads it.
func finalReport(ctx context.Context, mc *machine) Report {
	_, _ = mc.m.WaitFile(ctx, mc.report, resultRE, min(reportGrace, time.Until(deadline(ctx))))
	return parseReport(mc)
}

func parseReport(mc *machine) Report {
	b, _ := os.ReadFile(mc.report)
	return Parse(b, mc.node.Name)
}
