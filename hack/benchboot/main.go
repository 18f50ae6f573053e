// Command benchboot measures where a node's boot spends its seconds (make
// bench-boot): ROUNDS rounds, the order of the boots rotated each round,
// of
//   - baked: a 2-node cluster from the baked image, the join started once
//     the init node's kubebake-firstboot has reported (it joins a control
//     plane that is up), and before the join the plain base booted beside
//     the settled control plane (base-loaded: the join's fair comparison);
//   - compare (with -compare): the same cluster from another image, the
//     recipe baked before a change, for before/after figures;
//   - base: the plain base image with no NodeConfig, to multi-user.target
//     and cloud-init's end;
//   - baseline: the same cluster from the plain base installing the same
//     recipe at boot, its init node alone unless -baseline-join
//     (-skip-baseline leaves it out).
//
// Every node runs the timeline script (package timeline) and the host
// timestamps its console. It prints a table per kind (init, join, base,
// base-loaded, baseline-init, baseline-join) with the median, minimum, maximum and
// spread of every segment, each on its clock (host or guest), and writes
// the machine-readable result (rewritten after every run) and the table
// beside it. It exits 1 when a run failed; the figures leave such runs
// out.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/kubebake/kubebake/hack/e2ecluster/cluster"
	"github.com/kubebake/kubebake/hack/e2ecluster/timeline"
	"github.com/kubebake/kubebake/internal/atomicfile"
	"github.com/kubebake/kubebake/internal/vm"
)

// options are the command's flags.
type options struct {
	image, base, compare, work, result, accel, qemu string
	rounds                                          int
	skipBaseline, baselineJoin                      bool
	bundle                                          cluster.BundleOptions
	timeout, readyWait, plainWait                   time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.image, "image", "", "the baked image (required)")
	flag.StringVar(&o.base, "base", "", "the plain base image the recipe was baked on (required)")
	flag.StringVar(&o.compare, "compare", "", "an image to compare the baked one with (the same recipe baked before a change): its cluster is booted in every round too (kinds before-init, before-join)")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; each boots every kind once")
	flag.BoolVar(&o.skipBaseline, "skip-baseline", false, "leave out the baseline (the plain base installing the recipe at boot)")
	flag.BoolVar(&o.baselineJoin, "baseline-join", false, "the baseline's cluster has a join too, installing at boot once the init node has settled (about 15 minutes more a round under TCG); by default the baseline is its init node alone")
	flag.StringVar(&o.bundle.Recipe, "bundle-recipe", "", "the baked image's recipe, for the baseline")
	flag.StringVar(&o.bundle.KubernetesDir, "kubernetes-binaries-dir", "", "the Kubernetes binaries, for the baseline (as kubebake build takes them)")
	flag.StringVar(&o.bundle.Firstboot, "firstboot-binary", "", "the kubebake-firstboot binary, for the baseline")
	flag.StringVar(&o.work, "work", "out/bench-boot/run", "work directory: seeds, serial logs, the links' sockets, one directory a run")
	flag.StringVar(&o.result, "result", "out/bench-boot/result.json", "the result file; the table is written beside it as table.txt")
	flag.StringVar(&o.accel, "accel", "auto", "auto, kvm or tcg")
	flag.StringVar(&o.qemu, "qemu", "", "the QEMU binary (default qemu-system-x86_64)")
	flag.DurationVar(&o.timeout, "timeout", 90*time.Minute, "bound of each cluster run")
	flag.DurationVar(&o.readyWait, "ready-wait", 25*time.Minute, "how long a node waits for its cluster (init) or its own Node (join) to be Ready")
	flag.DurationVar(&o.plainWait, "plain-wait", 20*time.Minute, "bound of each plain base boot")
	flag.Parse()
	if err := o.check(); err != nil || flag.NArg() > 0 {
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchboot:", err)
		}
		fmt.Fprintln(os.Stderr, "usage: benchboot -image BAKED.qcow2 -base BASE.qcow2 [-compare BEFORE.qcow2] [-rounds N] [-work DIR] [-result FILE] [-accel auto|kvm|tcg]\n"+
			"                 (-skip-baseline | -bundle-recipe RECIPE -kubernetes-binaries-dir DIR -firstboot-binary FILE)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchboot:", err)
		os.Exit(1)
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "benchboot: %d run(s) failed; the figures leave them out (serial logs and reports in %s)\n", failed, o.work)
		os.Exit(1)
	}
}

func (o options) check() error {
	switch {
	case o.image == "":
		return fmt.Errorf("-image: the baked image is required")
	case o.base == "":
		return fmt.Errorf("-base: the plain base image is required")
	case o.rounds < 1:
		return fmt.Errorf("-rounds %d: at least 1", o.rounds)
	case !o.skipBaseline && (o.bundle.Recipe == "" || o.bundle.KubernetesDir == "" || o.bundle.Firstboot == ""):
		return fmt.Errorf("the baseline needs -bundle-recipe, -kubernetes-binaries-dir and -firstboot-binary (or -skip-baseline)")
	}
	return nil
}

// Boots of a round.
const (
	bootBaked    = "baked"
	bootCompare  = "compare"
	bootBase     = "base"
	bootBaseline = "baseline"
)

// roundOrder is the order of the boots in round r (from 1): rotated, so
// that no kind always comes first (a cold cache) or last.
func roundOrder(r int, compare, skipBaseline bool) []string {
	boots := []string{bootBaked}
	if compare {
		boots = append(boots, bootCompare)
	}
	boots = append(boots, bootBase)
	if !skipBaseline {
		boots = append(boots, bootBaseline)
	}
	k := (r - 1) % len(boots)
	return append(append([]string{}, boots[k:]...), boots[:k]...)
}

// run measures o.rounds rounds and returns how many runs failed.
func run(ctx context.Context, o options) (int, error) {
	accel, why, err := vm.ResolveAccel(ctx, o.accel, o.qemu)
	if err != nil {
		return 0, err
	}
	fmt.Printf("bench-boot: accelerator %s (%s); %d round(s)\n", accel, why, o.rounds)
	if err := os.MkdirAll(o.work, 0o755); err != nil {
		return 0, err
	}
	res := timeline.NewResult(o.rounds, time.Now())
	res.Accel = accel
	res.Images = map[string]string{bootBaked: o.image, bootBase: o.base}
	if o.compare != "" {
		res.Images[bootCompare] = o.compare
	}
	bundle := ""
	if !o.skipBaseline {
		o.bundle.Disk = filepath.Join(o.work, "bundle.raw")
		t0 := time.Now()
		if err := cluster.WriteBundleDisk(ctx, o.bundle); err != nil {
			return 0, err
		}
		fmt.Printf("bench-boot: bundle of %s written to %s in %s\n", o.bundle.Recipe, o.bundle.Disk, time.Since(t0).Round(time.Second))
		bundle = o.bundle.Disk
		res.Images["baseline-recipe"] = o.bundle.Recipe
	}
	write := func() error {
		if err := os.MkdirAll(filepath.Dir(o.result), 0o755); err != nil {
			return err
		}
		return res.Write(o.result)
	}
	if err := write(); err != nil {
		return 0, err
	}
	failed := 0
	for r := 1; r <= o.rounds && ctx.Err() == nil; r++ {
		order := roundOrder(r, o.compare != "", o.skipBaseline)
		res.Order = append(res.Order, order)
		for _, boot := range order {
			if ctx.Err() != nil {
				break
			}
			fmt.Printf("\n=== bench-boot: round %d of %d: %s\n", r, o.rounds, boot)
			dir := filepath.Join(o.work, fmt.Sprintf("r%d-%s", r, boot))
			runs := runBoot(ctx, o, accel, r, dir, boot, bundle)
			if why := panicked(runs); why != "" && ctx.Err() == nil {
				// A guest kernel's panic under emulation (TCG's text
				// patching races in an SMP guest's early boot) says
				// nothing of the image: the failed runs stay in the
				// result, marked, and the boot is run again, once.
				fmt.Printf("bench-boot: round %d %s: %s; booting it again, once\n", r, boot, why)
				for _, x := range runs {
					x.OK, x.Error = false, "retried: "+x.Error
					res.Add(x)
				}
				runs = runBoot(ctx, o, accel, r, dir+"-retry", boot, bundle)
			}
			for _, x := range runs {
				if !x.OK {
					failed++
					fmt.Printf("bench-boot: round %d %s %s failed: %s\n", r, x.Kind, x.Node, x.Error)
				}
				res.Add(x)
			}
			if err := write(); err != nil {
				return failed, err
			}
		}
	}
	res.Complete = ctx.Err() == nil
	res.FinishedAt = time.Now().UTC()
	if err := write(); err != nil {
		return failed, err
	}
	var table strings.Builder
	timeline.Print(&table, res)
	fmt.Println()
	fmt.Print(table.String())
	tablePath := filepath.Join(filepath.Dir(o.result), "table.txt")
	if err := atomicfile.WriteFile(tablePath, []byte(table.String()), 0o644); err != nil {
		return failed, err
	}
	fmt.Printf("\nbench-boot: result in %s, table in %s\n", o.result, tablePath)
	if ctx.Err() != nil {
		return failed, fmt.Errorf("interrupted: %w (the result holds the runs so far)", ctx.Err())
	}
	return failed, nil
}

// runBoot boots one kind of a round in dir and returns its runs.
func runBoot(ctx context.Context, o options, accel string, r int, dir, boot, bundle string) []timeline.Run {
	switch boot {
	case bootBase:
		return []timeline.Run{plainRun(ctx, o, accel, r, dir, timeline.KindBase)}
	case bootBaked:
		// The plain base boots beside the init node once its control
		// plane has settled, before the join, so that the join is
		// compared with a boot under the same load.
		var loaded timeline.Run
		runs := clusterRuns(ctx, o, accel, r, dir, o.image, "", "", func(ctx context.Context) error {
			loaded = plainRun(ctx, o, accel, r, filepath.Join(dir, "base-loaded"), timeline.KindBaseLoaded)
			return nil
		}, true)
		if loaded.Kind != "" {
			runs = append(runs, loaded)
		}
		return runs
	case bootCompare:
		return clusterRuns(ctx, o, accel, r, dir, o.compare, "", "before-", nil, true)
	case bootBaseline:
		return clusterRuns(ctx, o, accel, r, dir, o.base, bundle, "baseline-", nil, o.baselineJoin)
	}
	return nil
}

// panicked says why when a run failed because a guest's kernel panicked.
func panicked(runs []timeline.Run) string {
	for _, x := range runs {
		if !x.OK && strings.Contains(x.Error, vm.ErrPanicked.Error()) {
			return x.Kind + " " + x.Node + ": " + vm.ErrPanicked.Error()
		}
	}
	return ""
}

// nodes are a cluster's machines: the init node with two virtual CPUs and
// 3 GiB, as make e2e-cluster has it and as the plain base boots, and the
// join with two and 2 GiB, so that its boot is shaped as the plain base's
// it is compared with. The join starts once the init node's control plane
// has settled (cluster.Options.JoinAfterInit), so the host's two cores
// are not taken by a control plane still starting. With uplink each has a
// second card on QEMU's user network, for the Debian mirror that an
// install at boot needs.
func nodes(uplink bool) []cluster.Node {
	cp := cluster.Node{Name: "cp1", Role: "init", IP: "192.168.76.11", MAC: "52:54:00:6b:62:11", UUID: uuid.NewString(), MemoryMiB: 3072}
	w := cluster.Node{Name: "worker1", Role: "join", IP: "192.168.76.12", MAC: "52:54:00:6b:62:12", UUID: uuid.NewString(), MemoryMiB: 2048, SMP: 2}
	if uplink {
		cp.UplinkMAC, w.UplinkMAC = "52:54:00:6b:63:11", "52:54:00:6b:63:12"
	}
	return []cluster.Node{cp, w}
}

// clusterRuns boots a 2-node cluster from image (with bundle: the plain
// base installing the recipe at boot) and returns each node's run; kinds
// are prefixed with prefix. afterSettled, when set, runs once the init
// node's control plane has settled, before the join starts. Without
// join, the cluster is its init node alone.
func clusterRuns(ctx context.Context, o options, accel string, round int, dir, image, bundle, prefix string, afterSettled func(context.Context) error, join bool) []timeline.Run {
	ns := nodes(bundle != "")
	if !join {
		ns = ns[:1]
	}
	res, err := cluster.Run(ctx, cluster.Options{
		Image: image, WorkDir: dir, Nodes: ns, Accel: accel, QEMU: o.qemu, Timeout: o.timeout, ReadyWait: o.readyWait, Bundle: bundle,
		Cluster: cluster.Cluster{
			PodSubnet:          "10.244.0.0/16",
			ControlPlaneHealth: 15 * time.Minute, KubeletHealth: 10 * time.Minute, ControlPlane: 40 * time.Minute,
			TLSBootstrap: 20 * time.Minute, PodCIDR: 20 * time.Minute,
		},
		JoinAfterInit: true, AfterSettled: afterSettled, Timeline: true, Progress: os.Stdout,
	})
	if err != nil {
		var runs []timeline.Run
		for _, n := range ns {
			runs = append(runs, timeline.Run{Round: round, Kind: prefix + n.Role, Node: n.Name, Error: err.Error()})
		}
		return runs
	}
	var runs []timeline.Run
	for _, nr := range res.Nodes {
		runs = append(runs, nodeRun(round, prefix+nr.Node.Role, nr))
	}
	return runs
}

// nodeRun is a cluster node's run: its timeline, and whether it is one to
// count (firstboot succeeded, the report passed, the timeline finished).
func nodeRun(round int, kind string, nr cluster.NodeResult) timeline.Run {
	in := timeline.Input{
		Kind: kind, Node: nr.Node.Name, Round: round, Host: nr.Host, Guest: nr.Guest,
		PowerOnToResult: nr.PowerOnToResult.Seconds(), InstallStart: nr.Report.InstallStart, InstallDone: nr.Report.InstallDone,
	}
	if d, ok := nr.PowerOnToKubeadm(); ok {
		in.PowerOnToKubeadm = d.Seconds()
	}
	tl := timeline.Build(in)
	var problems []string
	if !nr.Success {
		problems = append(problems, "firstboot: "+nr.FirstbootLine)
	}
	if !nr.Report.Pass {
		detail := nr.Report.Detail
		if !nr.Report.Done {
			detail = "no report"
		}
		problems = append(problems, "report: "+detail)
	}
	if nr.TimelineError != "" {
		problems = append(problems, nr.TimelineError)
	}
	if !nr.Guest.Done {
		problems = append(problems, "the timeline script did not finish")
	}
	g := nr.Guest
	return timeline.Run{Round: round, Kind: kind, Node: nr.Node.Name, OK: len(problems) == 0, Error: strings.Join(problems, "; "), Host: nr.Host, Guest: &g, Timeline: &tl}
}

// plainRun boots the plain base once, shaped as the init node, as kind
// (base, or base-loaded beside a settled control plane: then shaped as the
// join node, on a network of its own).
func plainRun(ctx context.Context, o options, accel string, round int, dir, kind string) timeline.Run {
	n := cluster.Node{Name: "base1", IP: "192.168.76.11", MAC: "52:54:00:6b:62:11", UUID: uuid.NewString(), MemoryMiB: 3072}
	if kind == timeline.KindBaseLoaded {
		n = cluster.Node{Name: "base2", IP: "192.168.76.13", MAC: "52:54:00:6b:62:13", UUID: uuid.NewString(), MemoryMiB: 2048, SMP: 2}
	}
	fmt.Printf("bench-boot: round %d: %s\n", round, kind)
	r := timeline.Run{Round: round, Kind: kind, Node: n.Name}
	res, err := cluster.BootPlain(ctx, cluster.PlainOptions{Image: o.base, WorkDir: dir, Node: n, Accel: accel, QEMU: o.qemu, Wait: o.plainWait, Progress: os.Stdout})
	if err != nil {
		r.Error = err.Error()
		return r
	}
	tl := timeline.Build(timeline.Input{Kind: kind, Node: n.Name, Round: round, Host: res.Host, Guest: res.Guest})
	g := res.Guest
	r.Host, r.Guest, r.Timeline = res.Host, &g, &tl
	r.OK = res.TimelineError == "" && g.Done
	r.Error = res.TimelineError
	if !g.Done && r.Error == "" {
		r.Error = "the timeline script did not finish"
	}
	return r
}
