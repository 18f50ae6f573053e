package bake

import (
	"bytes"
	"context"
	"fmt"

	"github.com/kubebake/kubebake/internal/apply"
	"github.com/kubebake/kubebake/internal/sbom"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/recipes/render"
)

// outputTarget is a target that can return a script's standard output
// alone (SSH: sudo's warnings go to standard error).
type outputTarget interface {
	Output(ctx context.Context, script string) ([]byte, error)
}

// collectInventory runs the SBOM probe on the provisioned target (the
// chroot or the machine over SSH) for the plan: the OS packages from the
// package database, the Kubernetes and runtime binaries. Binaries that
// print no version get the plan's.
func collectInventory(ctx context.Context, t apply.Target, p *render.Plan) (sbom.Inventory, error) {
	probe, err := sbom.ProbeFor(p.Family, p.Runtime.Kind)
	if err != nil {
		return sbom.Inventory{}, err
	}
	script, err := probe.Script()
	if err != nil {
		return sbom.Inventory{}, err
	}
	out, err := runScript(ctx, t, script)
	if err != nil {
		return sbom.Inventory{}, fmt.Errorf("SBOM inventory: %w", err)
	}
	inv, err := probe.Parse(out)
	if err != nil {
		return inv, fmt.Errorf("SBOM inventory: %w", err)
	}
	if inv.OS.ID == "" {
		inv.OS = sbom.OS{ID: p.Base.Distro, VersionID: p.Base.Release}
	}
	k := p.Kubernetes.Version
	inv.DefaultVersions(map[string]string{"kubeadm": k, "kubelet": k, "kubectl": k, "crictl": p.Kubernetes.CrictlVersion})
	return inv, nil
}

// runScript runs a script on the target and returns its standard output
// (with a target that has no Output, its combined output); a non-zero exit
// is an error with the output's tail.
func runScript(ctx context.Context, t apply.Target, script string) ([]byte, error) {
	if o, ok := t.(outputTarget); ok {
		return o.Output(ctx, script)
	}
	var out bytes.Buffer
	code, err := t.Run(ctx, script, &out)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("exit code %d: %s", code, sys.Tail(out.Bytes(), 10))
	}
	return out.Bytes(), nil
}
