package acc

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repo is the repository root.
func repo(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// packerEnv is a Packer with empty plugin, config and cache directories,
// the kubebake plugin (and the Amazon plugin, for the AMI example)
// installed from their binaries, and no network checks.
type packerEnv struct {
	t      *testing.T
	packer string
	env    []string
	repo   string
}

func newPacker(t *testing.T) *packerEnv {
	t.Helper()
	if os.Getenv("PACKER_ACC") != "1" {
		t.Skip("acceptance tests run with PACKER_ACC=1 (make test, make acc)")
	}
	root := repo(t)
	bin := func(env, def string) string {
		p := os.Getenv(env)
		if p == "" {
			p = filepath.Join(root, def)
		}
		_, err := os.Stat(p)
		require.NoError(t, err, "%s: build it with hack/packer.sh or make plugin, or set %s", p, env)
		return p
	}
	p := &packerEnv{t: t, packer: bin("PACKER_BIN", "_build/tools/bin/packer"), repo: root}
	dir := t.TempDir()
	p.env = append(os.Environ(),
		"PACKER_PLUGIN_PATH="+filepath.Join(dir, "plugins"),
		"PACKER_CONFIG_DIR="+filepath.Join(dir, "config"),
		"PACKER_CACHE_DIR="+filepath.Join(dir, "cache"),
		"CHECKPOINT_DISABLE=1",
		"PACKER_NO_COLOR=1",
	)
	out := p.run(0, "plugins", "install", "--path", bin("KUBEBAKE_PLUGIN_BIN", "bin/packer-plugin-kubebake"), "github.com/kubebake/kubebake")
	require.Contains(t, out, "Successfully installed plugin github.com/kubebake/kubebake")
	p.run(0, "plugins", "install", "--path", bin("PACKER_AMAZON_BIN", "_build/tools/bin/packer-plugin-amazon"), "github.com/hashicorp/amazon")
	return p
}

// run runs packer in the repository and checks its exit code.
func (p *packerEnv) run(want int, args ...string) string {
	p.t.Helper()
	cmd := exec.Command(p.packer, args...)
	cmd.Dir = p.repo
	cmd.Env = p.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(p.t, err)
	}
	p.t.Logf("packer %s: exit %d in %s", strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond))
	require.Equal(p.t, want, code, "packer %s:\n%s", strings.Join(args, " "), out.String())
	return out.String()
}

// fakeBinaries is a directory with the four Kubernetes binaries the
// debian-13 recipes take from the build machine.
func fakeBinaries(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	for _, n := range []string{"kubeadm", "kubelet", "kubectl", "crictl"} {
		require.NoError(t, os.WriteFile(filepath.Join(d, n), []byte("#!/bin/sh\n"), 0o755))
	}
	return d
}

func TestInstalledPluginDescribesItself(t *testing.T) {
	p := newPacker(t)
	out := p.run(0, "plugins", "installed")
	assert.Regexp(t, `github.com/kubebake/kubebake/packer-plugin-kubebake_v\S+_x5\.0_linux_amd64`, out)
}

func TestExamplesInitAndValidate(t *testing.T) {
	p := newPacker(t)
	src := filepath.Join(t.TempDir(), "base.qcow2")
	require.NoError(t, os.WriteFile(src, []byte("qcow2"), 0o644))
	for _, tc := range []struct {
		file string
		vars []string
	}{
		{"examples/ami.pkr.hcl", nil},
		{"examples/qcow2.pkr.hcl", []string{"-var", "source_image=" + src, "-var", "kubernetes_binaries_dir=" + fakeBinaries(t),
			"-var", "output_directory=" + filepath.Join(t.TempDir(), "out")}},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			p.t = t
			p.run(0, "init", tc.file)
			out := p.run(0, append(append([]string{"validate"}, tc.vars...), tc.file)...)
			assert.Contains(t, out, "The configuration is valid.")
		})
	}
}

func TestValidateReportsEveryBadField(t *testing.T) {
	p := newPacker(t)
	tpl := filepath.Join(t.TempDir(), "bad.pkr.hcl")
	require.NoError(t, os.WriteFile(tpl, []byte(`
source "null" "x" { communicator = "none" }
source "kubebake-qemu" "y" {
  source_image = "/nonexistent.qcow2"
  format       = "vdi"
  accelerator  = "hvf"
}
build {
  sources = ["source.null.x", "source.kubebake-qemu.y"]
  provisioner "kubebake" {
    recipe = "ubuntu-24.04-containerd"
    overrides {
      kubernetes_version = "1.36"
      runtime            = "podman"
    }
  }
}
`), 0o644))
	out := p.run(1, "validate", tpl)
	for _, want := range []string{
		"overrides.kubernetes_version:",
		"overrides.runtime:",
		`source_image: "/nonexistent.qcow2" is not a readable file`,
		`format: "vdi" must be one of ova, qcow2, raw, vhd, vhdx, vmdk`,
		`accelerator: "hvf" must be auto, kvm or tcg`,
	} {
		assert.Contains(t, out, want)
	}
}

// TestNullBuildAppliesTheRenderedPlan runs `packer build` with the null
// builder, Packer's SSH communicator (SFTP) to the target double, the
// kubebake provisioner, and a shell-local check that what was staged on the
// machine is byte for byte what `kubebake render` writes for the recipe.
func TestNullBuildAppliesTheRenderedPlan(t *testing.T) {
	p := newPacker(t)
	m := startMachine(t)
	dir := t.TempDir()
	kubebake := filepath.Join(dir, "kubebake")
	build := exec.Command("go", "build", "-o", kubebake, "./cmd/kubebake")
	build.Dir = p.repo
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	remoteTmp := filepath.Join(dir, "remote-tmp")
	require.NoError(t, os.MkdirAll(remoteTmp, 0o755))
	recipe := filepath.Join(dir, "edge.yaml")
	require.NoError(t, os.WriteFile(recipe, []byte(`apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: edge
from: ubuntu-24.04-containerd
images:
  extra:
    - name: registry.example.com/agent:1.2.3
node:
  sysctls:
    vm.max_map_count: "262144"
`), 0o644))
	rendered := filepath.Join(dir, "rendered")
	stage := filepath.Join(m.root, "var/tmp/kubebake")
	tpl := filepath.Join(dir, "null.pkr.hcl")
	require.NoError(t, os.WriteFile(tpl, []byte(fmt.Sprintf(`
packer {
  required_plugins {
    kubebake = {
      source  = "github.com/kubebake/kubebake"
      version = ">= 0.0.0"
    }
  }
}
source "null" "machine" {
  communicator             = "ssh"
  ssh_host                 = "127.0.0.1"
  ssh_port                 = %[1]s
  ssh_username             = "packer"
  ssh_private_key_file     = %[2]q
  ssh_file_transfer_method = "sftp"
}
build {
  sources = ["source.null.machine"]
  provisioner "kubebake" {
    recipe          = %[3]q
    remote_temp_dir = %[4]q
  }
  provisioner "shell-local" {
    inline = [
      "%[5]s render %[3]s --dest %[6]s",
      "diff -r %[6]s/rootfs %[7]s/rootfs",
      "diff -r %[6]s/steps %[7]s/steps",
      "test -x %[7]s/inputs/kubebake-firstboot",
      "echo KUBEBAKE-ACC-OK",
    ]
  }
}
`, m.port(), m.key, recipe, remoteTmp, kubebake, rendered, stage)), 0o644))
	out2 := p.run(0, "build", tpl)
	assert.Contains(t, out2, "KUBEBAKE-ACC-OK", "the staged plan equals kubebake render's")
	assert.Contains(t, out2, "node checks passed")
	assert.Contains(t, out2, "kubebake: [stage] uploading the plan's", "the null builder attaches no stage disk: the stage goes through the communicator")
	assert.Contains(t, out2, "through the communicator: the builder attached no stage disk (only kubebake-qemu does)")
	assert.Regexp(t, `\[\d+/\d+\] runtime: `, out2, "steps are announced with their names")
	assert.Contains(t, out2, "runtime | double ran step runtime", "step output streams with the step's name")
	log, err := os.ReadFile(filepath.Join(m.root, "steps.log"))
	require.NoError(t, err)
	steps := strings.Fields(string(log))
	require.GreaterOrEqual(t, len(steps), 4)
	assert.Equal(t, []string{"checks", "seal", "stage-removed"}, steps[len(steps)-3:], "the node checks run before the seal")
	assert.Equal(t, "prepare", steps[0])
	entries, err := os.ReadDir(remoteTmp)
	require.NoError(t, err)
	assert.Empty(t, entries, "no upload or script is left in remote_temp_dir")
	fb, err := os.ReadFile(filepath.Join(stage, "inputs/kubebake-firstboot"))
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(fb, []byte("\x7fELF")), "the embedded kubebake-firstboot was uploaded")
}
