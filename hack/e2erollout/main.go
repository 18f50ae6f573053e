// Command e2erollout replaces a node pool under load, under QEMU, offline
// (make e2e-rollout): a control plane and a worker from image A, a
// workload with a PodDisruptionBudget on the worker, then a worker from
// image B with the same user data, the old worker drained, powered off
// gracefully and its Node deleted; a worker whose kubelet is too new must
// fail with reason version-skew; and the replacement again from the plain
// base installing B's recipe at boot. It prints FIGURE lines and exits 1
// unless all of it passed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/firstboot"
	"github.com/kubebake/kubebake/firstboot/nodeconfig"
	"github.com/kubebake/kubebake/hack/e2ecluster/cluster"
	"github.com/kubebake/kubebake/internal/manifest"
)

func main() {
	var o cluster.RolloutOptions
	var b cluster.BundleOptions
	flag.StringVar(&o.ImageA, "image-a", "", "image A: the pool as it is (required; manifest.json beside it)")
	flag.StringVar(&o.ImageB, "image-b", "", "image B: the replacement (required; manifest.json beside it)")
	flag.StringVar(&o.Skew, "skew-image", "", "an image whose kubelet is newer than image A's control plane")
	flag.StringVar(&o.Base, "base", "", "the plain base image, for the baseline replacement that installs B's recipe at boot")
	flag.StringVar(&b.Recipe, "bundle-recipe", "", "with -base: image B's recipe")
	flag.StringVar(&b.KubernetesDir, "kubernetes-binaries-dir", "", "with -base: the Kubernetes binaries (as kubebake build takes them)")
	flag.StringVar(&b.Firstboot, "firstboot-binary", "", "with -base: the kubebake-firstboot binary")
	flag.StringVar(&o.Workload.Image, "app-image", "kubebake.test/rollout-app:v1", "the workload's image, pre-loaded in A and B")
	flag.IntVar(&o.Workload.Replicas, "replicas", 4, "the workload's replicas")
	flag.IntVar(&o.Workload.MinAvailable, "min-available", 3, "the PodDisruptionBudget's minAvailable")
	flag.StringVar(&o.WorkDir, "work", "out/e2e-rollout/run", "work directory: seeds, serial logs, the link's socket")
	flag.StringVar(&o.Accel, "accel", "auto", "auto, kvm or tcg")
	flag.DurationVar(&o.Timeout, "timeout", 100*time.Minute, "bound of the whole run")
	flag.DurationVar(&o.ReadyWait, "ready-wait", 25*time.Minute, "how long a node waits for its cluster (init) or its own Node (join) to be Ready")
	flag.Parse()
	if o.ImageA == "" || o.ImageB == "" || flag.NArg() > 0 || (o.Base != "") != (b.Recipe != "") {
		fmt.Fprintln(os.Stderr, "usage: e2erollout -image-a A.qcow2 -image-b B.qcow2 [-skew-image S.qcow2] [-base BASE.qcow2 -bundle-recipe B.yaml -kubernetes-binaries-dir DIR -firstboot-binary FILE] [-work DIR] ...")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, b); err != nil {
		fmt.Fprintln(os.Stderr, "e2erollout:", err)
		os.Exit(1)
	}
}

// planLabel reads the manifest.json beside image and returns the value of
// its nodes' kubebake.dev/plan label.
func planLabel(image string) (string, error) {
	f := filepath.Join(filepath.Dir(image), "manifest.json")
	data, err := os.ReadFile(f)
	if err != nil {
		return "", err
	}
	var m manifest.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return "", fmt.Errorf("%s: %w", f, err)
	}
	v := firstboot.ImageLabels(api.ImageInfo{PlanDigest: m.PlanDigest})[nodeconfig.LabelPlan]
	if v == "" {
		return "", fmt.Errorf("%s: no plan digest", f)
	}
	return v, nil
}

func run(ctx context.Context, o cluster.RolloutOptions, b cluster.BundleOptions) error {
	var err error
	if o.PlanA, err = planLabel(o.ImageA); err != nil {
		return err
	}
	if o.PlanB, err = planLabel(o.ImageB); err != nil {
		return err
	}
	o.Progress = os.Stdout
	o.Cluster = cluster.Cluster{
		PodSubnet:          "10.244.0.0/16",
		ControlPlaneHealth: 15 * time.Minute, KubeletHealth: 10 * time.Minute, ControlPlane: 40 * time.Minute,
		TLSBootstrap: 20 * time.Minute, PodCIDR: 20 * time.Minute,
	}
	if b.Recipe != "" {
		if err := os.MkdirAll(o.WorkDir, 0o755); err != nil {
			return err
		}
		b.Disk = filepath.Join(o.WorkDir, "bundle.raw")
		t0 := time.Now()
		if err := cluster.WriteBundleDisk(ctx, b); err != nil {
			return err
		}
		fmt.Printf("e2e-rollout: bundle of %s written to %s in %s\n", b.Recipe, b.Disk, time.Since(t0).Round(time.Second))
		o.Bundle = b.Disk
	}
	res, err := cluster.Rollout(ctx, o)
	if err != nil {
		return err
	}
	res.Print(os.Stdout, o)
	if !res.Pass() {
		return fmt.Errorf("the rollout failed (serial logs and reports in %s)", o.WorkDir)
	}
	return nil
}
