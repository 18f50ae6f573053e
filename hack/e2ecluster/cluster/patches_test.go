package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/firstboot/kubeadm"
	"github.com/kubebake/kubebake/firstboot/nodeconfig"
)

// TestSlowControlPlaneWithKubeadm has a real kubeadm write the init node's
// static Pods with the patches (dry run): every component's liveness probe
// is relaxed, and the controller manager and scheduler hold their leases
// for a minute.
func TestSlowControlPlaneWithKubeadm(t *testing.T) {
	bin, err := filepath.Abs(filepath.Join("..", "..", "..", "_build", "k8s", "v1.36.3", "bin", "kubeadm"))
	require.NoError(t, err)
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("KUBEBAKE_REQUIRE_KUBEADM") == "1" {
			t.Fatal("no kubeadm at " + bin + ": hack/k8s-bin.sh -v v1.36.3 kubeadm")
		}
		t.Skip("no kubeadm at " + bin)
	}
	s, err := NewSecrets()
	require.NoError(t, err)
	doc, err := NodeConfig(cp, cp, false, tcg, s)
	require.NoError(t, err)
	c, err := nodeconfig.Decode(doc)
	require.NoError(t, err)
	require.NoError(t, nodeconfig.SetDefaults(c, nodeconfig.Env{KubernetesVersion: "v1.36.3", Hostname: "cp1"}))
	require.NoError(t, nodeconfig.Validate(c))

	dir := t.TempDir()
	patches := filepath.Join(dir, "patches")
	require.NoError(t, os.Mkdir(patches, 0o755))
	files, err := kubeadm.PatchFiles(c)
	require.NoError(t, err)
	for n, b := range files {
		require.NoError(t, os.WriteFile(filepath.Join(patches, n), b, 0o600))
	}
	out, err := kubeadm.Render(c, kubeadm.Options{CRISocket: "unix:///run/containerd/containerd.sock", PatchesDir: patches})
	require.NoError(t, err)
	cfg := filepath.Join(dir, "kubeadm.yaml")
	require.NoError(t, os.WriteFile(cfg, out, 0o600))
	dry := filepath.Join(dir, "dry-run")
	for _, phase := range [][]string{{"control-plane", "all"}, {"etcd", "local"}} {
		cmd := exec.Command(bin, append(append([]string{"init", "phase"}, phase...), "--config", cfg, "--dry-run")...)
		cmd.Env = append(os.Environ(), "KUBEADM_INIT_DRYRUN_DIR="+dry)
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", b)
	}
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		b, err := os.ReadFile(filepath.Join(dry, name+".yaml"))
		require.NoError(t, err, name)
		var pod struct {
			Spec struct {
				Containers []struct {
					Command       []string `json:"command"`
					LivenessProbe struct {
						FailureThreshold int `json:"failureThreshold"`
						TimeoutSeconds   int `json:"timeoutSeconds"`
					} `json:"livenessProbe"`
				} `json:"containers"`
			} `json:"spec"`
		}
		require.NoError(t, yaml.Unmarshal(b, &pod), name)
		require.Len(t, pod.Spec.Containers, 1, name)
		ct := pod.Spec.Containers[0]
		assert.Equal(t, 40, ct.LivenessProbe.FailureThreshold, name)
		assert.Equal(t, 30, ct.LivenessProbe.TimeoutSeconds, name)
		if name == "kube-controller-manager" || name == "kube-scheduler" {
			assert.True(t, slices.Contains(ct.Command, "--leader-elect-lease-duration=60s"), "%s: %v", name, ct.Command)
			assert.True(t, slices.Contains(ct.Command, "--leader-elect-renew-deadline=45s"), name)
		}
	}
}
