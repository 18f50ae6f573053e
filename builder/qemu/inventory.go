package qemu

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/internal/atomicfile"
	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/sbom"
	"github.com/kubebake/kubebake/internal/shell"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/recipes"
)

// guestInventory runs the SBOM probe in the guest over the communicator,
// for the image the kubebake provisioner baked (its image.json): the OS
// packages from the package database, the Kubernetes and runtime
// binaries. Binaries that print no version get image.json's Kubernetes
// version.
func guestInventory(ctx context.Context, comm packersdk.Communicator, ii api.ImageInfo) (sbom.Inventory, error) {
	d, ok := recipes.LookupDistro(ii.Distro, ii.Release)
	if !ok {
		return sbom.Inventory{}, fmt.Errorf("%s: distro %s %s is none kubebake knows", api.ImageInfoPath, ii.Distro, ii.Release)
	}
	probe, err := sbom.ProbeFor(d.Family, ii.Runtime)
	if err != nil {
		return sbom.Inventory{}, err
	}
	script, err := probe.Script()
	if err != nil {
		return sbom.Inventory{}, err
	}
	// Standard output alone is data: sudo warns on standard error.
	var stdout, stderr bytes.Buffer
	cmd := &packersdk.RemoteCmd{Command: "sudo -n bash -c " + shell.Quote(script), Stdout: &stdout, Stderr: &stderr}
	if err := comm.Start(ctx, cmd); err != nil {
		return sbom.Inventory{}, fmt.Errorf("SBOM inventory: %w", err)
	}
	if code := cmd.Wait(); code != 0 {
		return sbom.Inventory{}, fmt.Errorf("SBOM inventory: exit code %d: %s", code, sys.Tail(stderr.Bytes(), 10))
	}
	inv, err := probe.Parse(stdout.Bytes())
	if err != nil {
		return inv, fmt.Errorf("SBOM inventory: %w", err)
	}
	if inv.OS.ID == "" {
		inv.OS = sbom.OS{ID: ii.Distro, VersionID: ii.Release}
	}
	k := ii.KubernetesVersion
	inv.DefaultVersions(map[string]string{"kubeadm": k, "kubelet": k, "kubectl": k})
	return inv, nil
}

// writeSBOM writes the image's SPDX SBOM, NAME.spdx.json, beside it in
// dir, atomically, and names it in the manifest. m must describe the image
// (its name, file and sha256) and carry the runtime's store.
func writeSBOM(dir string, m *manifest.Manifest, inv sbom.Inventory) (string, error) {
	inv.Images = sbom.ImagesFromRuntime(m.RuntimeImages)
	doc, err := sbom.Build(sbom.Meta{
		Name: m.Name, File: m.Image, SHA256: m.SHA256, Version: m.KubernetesVersion,
		Comment: fmt.Sprintf("kubebake recipe %s (%s %s %s): Kubernetes %s from %s, runtime %s; plan %s; baked by the kubebake-qemu Packer builder",
			m.Recipe, m.Distro, m.Release, m.Arch, m.KubernetesVersion, m.KubernetesSource, m.Runtime.Kind, m.PlanDigest),
		Tool: "kubebake-" + sbom.ToolVersion(""), Created: m.BuiltAt,
	}, inv)
	if err != nil {
		return "", err
	}
	name := m.Name + ".spdx.json"
	path := filepath.Join(dir, name)
	if err := atomicfile.WriteFile(path, doc, 0o644); err != nil {
		return "", fmt.Errorf("SBOM: %w", err)
	}
	m.SBOM = name
	return path, nil
}
