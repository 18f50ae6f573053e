// Command e2ecluster boots a kubeadm cluster from one kubebake image under
// QEMU, offline, on a private link between the machines (make e2e-cluster):
// node 1 runs kubeadm init, the others join; it prints each node's
// kubebake-firstboot figures and what kubectl on the init node saw, and
// exits 1 unless every node succeeded and the cluster was Ready.
package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/kubebake/kubebake/hack/e2ecluster/cluster"
)

func main() {
	image := flag.String("image", "", "kubebake image every node boots (required)")
	work := flag.String("work", "out/e2e-cluster/run", "work directory: seeds, serial logs, the link's socket")
	nodes := flag.Int("nodes", 2, "number of nodes: one init, the rest join")
	roles := flag.String("roles", "", "the nodes' roles instead of -nodes, comma-separated, init first: e.g. init,control-plane")
	accel := flag.String("accel", "auto", "auto, kvm or tcg")
	timeout := flag.Duration("timeout", 60*time.Minute, "bound of the whole run")
	readyWait := flag.Duration("ready-wait", 25*time.Minute, "how long the init node waits for every node Ready and every kube-system pod Running")
	userNet := flag.Bool("user-net", false, "a lone node on QEMU's user network (NAT) instead of the private link")
	powerCut := flag.String("power-cut", "", "nodes to power-cut half way through kubeadm, comma-separated (e.g. cp1,worker1): init once it waits for the API server, the others once they wait for the kubelet's TLS bootstrap")
	var b cluster.BundleOptions
	flag.StringVar(&b.Recipe, "bundle-recipe", "", "baseline: IMAGE is not baked; every node applies this recipe's plan at boot from a bundle disk")
	flag.StringVar(&b.KubernetesDir, "kubernetes-binaries-dir", "", "with -bundle-recipe: the Kubernetes binaries (as kubebake build takes them)")
	flag.StringVar(&b.Firstboot, "firstboot-binary", "", "with -bundle-recipe: the kubebake-firstboot binary")
	flag.Parse()
	roleList := []string{"init"}
	for i := 1; i < *nodes; i++ {
		roleList = append(roleList, "join")
	}
	if *roles != "" {
		roleList = strings.Split(*roles, ",")
	}
	if *image == "" || len(roleList) < 1 || len(roleList) > 9 || roleList[0] != "init" || flag.NArg() > 0 || (*userNet && len(roleList) != 1) {
		fmt.Fprintln(os.Stderr, "usage: e2ecluster -image IMAGE.qcow2 [-work DIR] [-nodes 1..9 | -roles init,ROLE... | -user-net] [-power-cut NODE,...] [-accel auto|kvm|tcg] [-timeout D] [-ready-wait D]\n"+
			"                  [-bundle-recipe RECIPE -kubernetes-binaries-dir DIR -firstboot-binary FILE]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cut := map[string]bool{}
	for _, n := range strings.Split(*powerCut, ",") {
		if n != "" {
			cut[n] = true
		}
	}
	if err := run(ctx, *image, *work, roleList, cut, *userNet, b, *accel, *timeout, *readyWait); err != nil {
		fmt.Fprintln(os.Stderr, "e2ecluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, image, work string, roles []string, cut map[string]bool, userNet bool, b cluster.BundleOptions, accel string, timeout, readyWait time.Duration) error {
	var nodes []cluster.Node
	workers, cps := 0, 0
	for i, role := range roles {
		n := cluster.Node{
			Role: role, IP: fmt.Sprintf("192.168.76.%d", 11+i),
			MAC: fmt.Sprintf("52:54:00:6b:62:%02x", 0x11+i), UUID: uuid.NewString(), MemoryMiB: 2048,
		}
		switch role {
		case "init", "control-plane":
			cps++
			n.Name, n.MemoryMiB = fmt.Sprintf("cp%d", cps), 3072
		case "join":
			workers++
			// One virtual CPU: kubeadm asks two of control-plane nodes
			// only, and under TCG every virtual CPU is a host thread
			// that the control plane would compete with (on a 2-core
			// host its leader leases lapsed).
			n.Name, n.SMP = fmt.Sprintf("worker%d", workers), 1
		default:
			return fmt.Errorf("-roles: unknown role %q (init, control-plane or join)", role)
		}
		if userNet {
			n.IP = ""
		}
		if cut[n.Name] {
			// Two virtual CPUs: a one-CPU worker did not boot again after
			// QMP's system_reset under TCG (no console output for ten
			// minutes, its CPU busy; probably OVMF's reset path), while
			// the two-CPU init node did.
			n.SMP = 0
			n.PowerCut = cluster.PowerCutJoin
			if role == "init" {
				n.PowerCut = cluster.PowerCutInit
			}
			delete(cut, n.Name)
		}
		nodes = append(nodes, n)
	}
	if len(cut) > 0 {
		return fmt.Errorf("-power-cut: no such node: %s", strings.Join(slices.Sorted(maps.Keys(cut)), ", "))
	}
	bundle := ""
	if b.Recipe != "" {
		if err := os.MkdirAll(work, 0o755); err != nil {
			return err
		}
		b.Disk = filepath.Join(work, "bundle.raw")
		t0 := time.Now()
		if err := cluster.WriteBundleDisk(ctx, b); err != nil {
			return err
		}
		fmt.Printf("e2e-cluster: bundle of %s written to %s in %s\n", b.Recipe, b.Disk, time.Since(t0).Round(time.Second))
		bundle = b.Disk
	}
	res, err := cluster.Run(ctx, cluster.Options{
		Image: image, WorkDir: work, Nodes: nodes, Accel: accel, Timeout: timeout, ReadyWait: readyWait, Bundle: bundle,
		Cluster: cluster.Cluster{
			PodSubnet:          "10.244.0.0/16",
			ControlPlaneHealth: 15 * time.Minute, KubeletHealth: 10 * time.Minute, ControlPlane: 40 * time.Minute,
			TLSBootstrap: 20 * time.Minute, PodCIDR: 20 * time.Minute,
		},
		Progress: os.Stdout,
	})
	if err != nil {
		return err
	}
	res.Print(os.Stdout)
	if !res.Pass {
		return fmt.Errorf("the cluster did not come up (serial logs and reports in %s)", work)
	}
	return nil
}
