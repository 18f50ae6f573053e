package acc

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQemuBuild bakes examples/qcow2.pkr.hcl for real: the kubebake-qemu
// builder boots a Debian 13 base image made by `kubebake base` under QEMU,
// the kubebake provisioner applies debian-13-containerd over SSH, the
// builder seals and writes the image, HCP Packer (the fake of
// hcpfake_test.go, through an hcp_packer_registry block beside the
// example) records it, and `kubebake test` must accept it.
// It needs root (kubebake test reads the disk), QEMU, the base image
// (KUBEBAKE_ACC_BASE), the Kubernetes binaries (KUBEBAKE_ACC_K8S_BIN) and
// the kubebake CLI (KUBEBAKE_BIN); hack/acc.sh prepares all of it.
func TestQemuBuild(t *testing.T) {
	if os.Getenv("KUBEBAKE_ACC_QEMU") != "1" {
		t.Skip("the full kubebake-qemu build runs with KUBEBAKE_ACC_QEMU=1 (make acc)")
	}
	p := newPacker(t)
	base, k8s, kubebake := os.Getenv("KUBEBAKE_ACC_BASE"), os.Getenv("KUBEBAKE_ACC_K8S_BIN"), os.Getenv("KUBEBAKE_BIN")
	require.NotEmpty(t, base, "KUBEBAKE_ACC_BASE")
	require.NotEmpty(t, k8s, "KUBEBAKE_ACC_K8S_BIN")
	require.NotEmpty(t, kubebake, "KUBEBAKE_BIN")
	out := os.Getenv("KUBEBAKE_ACC_OUT")
	if out == "" {
		out = filepath.Join(t.TempDir(), "out")
	}
	require.NoError(t, os.RemoveAll(out))
	// The example as users see it, with an hcp_packer_registry block
	// beside it, published to the fake HCP Packer.
	hcp := startHCPFake(t)
	p.env = append(p.env, hcp.env()...)
	start := time.Now()
	log := p.run(0, "build", "-var", "source_image="+base, "-var", "output_directory="+out,
		"-var", "kubernetes_binaries_dir="+k8s, qcow2WithHCP(t, p.repo))
	t.Logf("FIGURE packer build (kubebake-qemu, TCG or KVM) %s", time.Since(start).Round(time.Second))
	require.NoError(t, os.WriteFile(out+".packer.log", []byte(log), 0o644))
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, " done in ") || strings.Contains(line, "Accelerator") || strings.Contains(line, "powered off") ||
			strings.Contains(line, "Wrote ") || strings.Contains(line, "node checks passed") || strings.Contains(line, "steps done") ||
			strings.Contains(line, "kubebake: [stage] ") {
			t.Logf("FIGURE %s", strings.TrimSpace(line))
		}
	}
	assert.Contains(t, log, "node checks passed")
	assert.Contains(t, log, "The guest powered off")
	assert.Contains(t, log, "kubebake: [stage] wrote the plan's", "the plan goes in on the builder's stage disk, not over SSH")
	assert.Contains(t, log, "kubebake: [stage] the machine unpacked the stage disk in ")

	img := filepath.Join(out, "debian-13-containerd.qcow2")
	fi, err := os.Stat(img)
	require.NoError(t, err)
	t.Logf("FIGURE image size %d bytes", fi.Size())
	var m struct {
		SHA256, Recipe, KubernetesVersion, SBOM, PlanDigest, Base string
		SchemaVersion                                             int
		Size                                                      int64
		Runtime                                                   struct{ Kind string }
		RuntimeImages                                             []struct{ RepoTags, RepoDigests []string }
	}
	b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, "debian-13-containerd", m.Recipe)
	assert.Equal(t, "v1.36.3", m.KubernetesVersion)
	assert.Equal(t, "containerd", m.Runtime.Kind)
	assert.Equal(t, fi.Size(), m.Size)
	assert.Len(t, m.SHA256, 64)
	assert.Equal(t, 1, m.SchemaVersion)
	assert.Equal(t, "debian-13-containerd.spdx.json", m.SBOM, "the builder writes the SBOM beside the image")
	assert.FileExists(t, filepath.Join(out, m.SBOM))

	// HCP Packer recorded the image with the manifest's facts as labels.
	reg := hcpPublished(t, hcp, log)
	assert.Equal(t, "kubebake-qemu.node", reg.ComponentType)
	assert.Equal(t, "kubebake.qemu", reg.Platform)
	assert.Equal(t, []hcpArtifact{{ExternalIdentifier: "debian-13-containerd.qcow2", Region: out}}, reg.Artifacts)
	assert.Equal(t, m.Base, reg.SourceExternalIdentifier)
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, m.PlanDigest)
	for k, v := range map[string]string{
		"recipe": m.Recipe, "kubernetes_version": m.KubernetesVersion, "runtime": m.Runtime.Kind,
		"plan_digest": m.PlanDigest, "sha256": m.SHA256, "manifest": filepath.Join(out, "manifest.json"),
	} {
		assert.Equal(t, v, reg.Labels[k], "label %s", k)
	}

	start = time.Now()
	cmd := exec.Command(kubebake, "test", img, "--report", filepath.Join(out, "test.json"))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	require.NoError(t, cmd.Run(), "kubebake test must accept the image the plugin baked")
	var rep struct {
		Checks []struct {
			Name            string
			Passed, Skipped bool
			Detail          string
		}
	}
	b, err = os.ReadFile(filepath.Join(out, "test.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	sbomChecked := false
	for _, c := range rep.Checks {
		if c.Name == "sbom-matches-disk" {
			sbomChecked = c.Passed && !c.Skipped
			t.Logf("FIGURE sbom-matches-disk: %s", c.Detail)
		}
	}
	assert.True(t, sbomChecked, "kubebake test checks the builder's SBOM against the disk")
	t.Logf("FIGURE kubebake test %s", time.Since(start).Round(time.Second))
}
