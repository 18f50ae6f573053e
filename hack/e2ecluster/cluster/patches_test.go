package cluster

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
	"github.com/kubebake/kubebake/internal/testutil"
)

// TestSlowControlPlaneWithKubeadm has a real kubeadm write the init node's
// static Pods with the patches (dry run): every component's liveness probe
// is relaxed, and the controller manager and scheduler hold their leases
// for a minute.
func TestSlowControlPlaneWithKubeadm(t *testing.T) {
	bin := testutil.Kubeadm(t, "v1.36.3")
	s, err := NewSecrets()
	require.NoError(t, err)
	doc, err := NodeConfig(cp, cp, false, tcg, s)
	require.NoError(t, err)
	c, err := nodeconfig.Decode(doc)
	require.NoError(t, err)
	require.NoError(t, nodeconfig.SetDefaults(c, nodeconfig.Env{KubernetesVersion: "v1.36.3", Hostname: "cp1"}))
	require.NoError(t, nodeconfig.Validate(c))

	dry, _ := testutil.KubeadmDryRun(t, bin, c, []string{"control-plane", "all"}, []string{"etcd", "local"})
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
