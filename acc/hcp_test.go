package acc

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hcpRegistryBlock is the hcp_packer_registry block the HCP tests add to
// a template (top level, as packer >= 1.12.1 recommends).
const hcpRegistryBlock = `
hcp_packer_registry {
  bucket_name   = "kubebake-acc"
  description   = "kubebake acceptance tests"
  bucket_labels = { "owner" = "kubebake-acc" }
  build_labels  = { "suite" = "acc" }
}
`

// qcow2WithHCP is the template TestQemuBuild builds: a directory with
// examples/qcow2.pkr.hcl as users see it and hcpRegistryBlock beside it.
func qcow2WithHCP(t *testing.T, repo string) string {
	t.Helper()
	dir := t.TempDir()
	example, err := os.ReadFile(filepath.Join(repo, "examples/qcow2.pkr.hcl"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "qcow2.pkr.hcl"), example, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hcp.pkr.hcl"), []byte(hcpRegistryBlock), 0o644))
	return dir
}

// hcpPublished checks what packer told the fake HCP Packer for a build
// with hcpRegistryBlock: the calls packer v1.16.0 makes, in order (the
// token first; heartbeats fold into one BUILD_RUNNING), the bucket with
// the block's description and labels, no failure, and one build marked
// done, which it returns.
func hcpPublished(t *testing.T, hcp *hcpFake, log string) hcpBuild {
	t.Helper()
	calls, errs := hcp.record()
	assert.Empty(t, errs, "the fake HCP saw only calls it serves, with the token and location it expects")
	require.NotEmpty(t, calls)
	assert.Equal(t, "Token", calls[0], "the client-credentials token comes first")
	var seq []string
	for _, c := range calls {
		if c != "Token" && (len(seq) == 0 || seq[len(seq)-1] != c) {
			seq = append(seq, c)
		}
	}
	assert.Equal(t, []string{
		"GetBucket", "CreateBucket", "GetVersion", "CreateVersion", "ListBuilds", "CreateBuild",
		"GetEnforcedBlocksByBucket", "UpdateBuild BUILD_RUNNING", "UpdateBuild BUILD_DONE",
	}, seq)
	bucket := hcp.bucket("kubebake-acc")
	require.NotNil(t, bucket, "packer created the bucket")
	assert.Equal(t, "kubebake acceptance tests", bucket["description"])
	assert.Equal(t, map[string]any{"owner": "kubebake-acc"}, bucket["labels"])
	assert.Regexp(t, `Published metadata to HCP Packer registry packer/kubebake-acc/versions/version-\d+`, log)
	done := hcp.done()
	require.Len(t, done, 1, "one build is done")
	b := done[0]
	assert.Equal(t, "acc", b.Labels["suite"], "the block's build_labels")
	var meta struct{ Packer struct{ Version string } }
	require.NoError(t, json.Unmarshal(b.Metadata, &meta))
	assert.Equal(t, "1.16.0", meta.Packer.Version, "packer sends its version as build metadata")
	return b
}

// TestHCPPackerRegistryNullBuild runs `packer build` of a null source with
// an hcp_packer_registry block against the fake HCP Packer: packer finds
// HCP through the environment, authenticates, creates the bucket, the
// version and the build, and publishes the image packer's null builder
// reports (provider null, ID Null). TestQemuBuild relies on the same
// fake and checks for the kubebake-qemu image.
func TestHCPPackerRegistryNullBuild(t *testing.T) {
	p := newPacker(t)
	hcp := startHCPFake(t)
	p.env = append(p.env, hcp.env()...)
	tpl := filepath.Join(t.TempDir(), "hcp.pkr.hcl")
	require.NoError(t, os.WriteFile(tpl, []byte(hcpRegistryBlock+`
source "null" "node" {
  communicator = "none"
}
build {
  sources = ["source.null.node"]
}
`), 0o644))
	log := p.run(0, "build", tpl)
	assert.Contains(t, log, "Tracking build on HCP Packer with fingerprint")
	b := hcpPublished(t, hcp, log)
	assert.Equal(t, "null.node", b.ComponentType)
	assert.Equal(t, "null", b.Platform)
	assert.Equal(t, "null", b.SourceExternalIdentifier)
	assert.Equal(t, []hcpArtifact{{ExternalIdentifier: "Null", Region: "null"}}, b.Artifacts)
}

// TestHCPPackerRegistryQcow2Validates: the directory TestQemuBuild builds
// (the example and the registry block) is one valid configuration.
func TestHCPPackerRegistryQcow2Validates(t *testing.T) {
	p := newPacker(t)
	src := filepath.Join(t.TempDir(), "base.qcow2")
	require.NoError(t, os.WriteFile(src, []byte("qcow2"), 0o644))
	out := p.run(0, "validate", "-var", "source_image="+src, "-var", "kubernetes_binaries_dir="+fakeBinaries(t),
		"-var", "output_directory="+filepath.Join(t.TempDir(), "out"), qcow2WithHCP(t, p.repo))
	assert.Contains(t, out, "The configuration is valid.")
}
