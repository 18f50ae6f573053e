package render_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/unit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// checkConsumerBoot: what a node's first boot waits for, as systemd and
// cloud-init read it (issue #15's cuts).
//   - kubebake-firstboot.service is ordered after cloud-init's network stage
//     under both of its names (cloud-init-network.service from 24.3,
//     cloud-init.service before) and after the runtime, and not after
//     cloud-config.service;
//   - the kubelet does not start until kubeadm has written its
//     configuration (a condition on the file the kubelet's --config names);
//   - cloud-init makes exactly node.sshHostKeyTypes, and its schema accepts
//     the drop-in.
func checkConsumerBoot(t *testing.T, cp *consumerPlan) {
	if fb, ok := cp.files["/etc/systemd/system/kubebake-firstboot.service"]; ok {
		after := unitValues(t, fb.Content, "Unit", "After")
		assert.Subset(t, after, []string{"network-online.target", "cloud-init-network.service", "cloud-init.service"})
		assert.NotContains(t, after, "cloud-config.service", "firstboot needs no cloud-config module")
		assert.Subset(t, after, cp.plan.Runtime.Services, "firstboot starts after the runtime")
	}

	dropIn := cp.file(t, render.KubeletWaitConfigDropIn).Content
	cond := unitValues(t, dropIn, "Unit", "ConditionPathExists")
	require.Equal(t, []string{"/var/lib/kubelet/config.yaml"}, cond)
	if kubeadmConf, ok := cp.files["/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"]; ok {
		assert.Contains(t, string(kubeadmConf.Content), "--config="+cond[0], "the condition is on the file the kubelet reads")
	}

	cfg, ok := cp.files[render.SSHKeysCloudConfig]
	if cp.plan.Family == recipes.FamilyFCOS || !recipes.Bool(cp.loaded.Recipe.Seal.Enabled, true) {
		assert.False(t, ok, "no cloud-init drop-in without cloud-init or without the seal")
		return
	}
	require.True(t, ok, "the plan places %s", render.SSHKeysCloudConfig)
	var doc struct {
		SSHGenKeyTypes []string `json:"ssh_genkeytypes"`
	}
	require.NoError(t, yaml.UnmarshalStrict(cfg.Content, &doc))
	assert.Equal(t, cp.loaded.Recipe.Node.SSHHostKeyTypes, doc.SSHGenKeyTypes)
	bin := consumerBinary(t, "cloud-init")
	f := filepath.Join(t.TempDir(), "ssh.cfg")
	// A drop-in needs no header; the schema tool reads it as user data.
	require.NoError(t, os.WriteFile(f, append([]byte("#cloud-config\n"), cfg.Content...), 0o644))
	out, err := exec.Command(bin, "schema", "--config-file", f).CombinedOutput()
	require.NoError(t, err, "cloud-init schema rejects %s:\n%s", render.SSHKeysCloudConfig, out)
}

// unitValues are the values of section's key in a unit file, each
// space-separated word its own value, as systemd reads list settings.
func unitValues(t *testing.T, content []byte, section, key string) []string {
	t.Helper()
	opts, err := unit.DeserializeOptions(bytes.NewReader(content))
	require.NoError(t, err)
	var out []string
	for _, o := range opts {
		if o.Section == section && o.Name == key {
			out = append(out, strings.Fields(o.Value)...)
		}
	}
	return out
}

// TestSSHHostKeyTypesCloudInit: every type node.sshHostKeyTypes accepts is
// one cloud-init's ssh module generates (its GENERATE_KEY_NAMES).
func TestSSHHostKeyTypesCloudInit(t *testing.T) {
	bin := consumerBinary(t, "cloud-init")
	script, err := os.ReadFile(bin)
	require.NoError(t, err)
	python := "python3"
	if first, _, ok := strings.Cut(string(script), "\n"); ok && strings.HasPrefix(first, "#!") {
		python = strings.Fields(strings.TrimPrefix(first, "#!"))[0]
	}
	out, err := exec.Command(python, "-c", "from cloudinit.config import cc_ssh; print(' '.join(cc_ssh.GENERATE_KEY_NAMES))").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Subset(t, strings.Fields(string(out)), recipes.SSHHostKeyTypes())
	assert.Subset(t, recipes.SSHHostKeyTypes(), recipes.DefaultSSHHostKeyTypes())
}
