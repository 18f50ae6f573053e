package kubeadm_test

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/firstboot/kubeadm"
	"github.com/kubebake/kubebake/firstboot/nodeconfig"
	"github.com/kubebake/kubebake/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite testdata/kubeadm golden files")

const (
	testToken   = "abcdef.0123456789abcdef"
	testCertKey = "f2a6d5f8b8c1e1f3a0b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80912"
	testHash    = "sha256:7f1b2a5c3c9d6e4f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"
)

func config(role, version string) *nodeconfig.NodeConfig {
	taints := []nodeconfig.Taint{}
	c := &nodeconfig.NodeConfig{
		APIVersion: nodeconfig.APIVersion, Kind: nodeconfig.Kind, Role: role,
		Cluster:   nodeconfig.Cluster{KubernetesVersion: version, ControlPlaneEndpoint: "10.0.0.10:6443"},
		Bootstrap: nodeconfig.Bootstrap{Token: testToken},
		Node: nodeconfig.Node{
			Name: "node-" + role, AdvertiseAddress: "10.0.0.11",
			Labels:                map[string]string{"kubebake.dev/pool": "edge", "tier": "frontend"},
			IgnorePreflightErrors: []string{"NumCPU"},
		},
		Timeouts: nodeconfig.Timeouts{ControlPlaneComponentHealthCheck: nodeconfig.D(15 * time.Minute)},
	}
	switch role {
	case nodeconfig.RoleInit:
		c.Cluster.PodSubnet = "10.244.0.0/16"
		c.Bootstrap.UploadCerts = true
		c.Bootstrap.CertificateKey = testCertKey
		c.Node.Taints = &taints // a single-node cluster: schedule on the control plane
	case nodeconfig.RoleJoin:
		c.Bootstrap.CACertHashes = []string{testHash}
		// Cluster API's registration taint, which its controller removes
		// once the Machine is initialized; firstboot never does.
		c.Node.Taints = &[]nodeconfig.Taint{{Key: "dedicated", Value: "edge", Effect: "NoSchedule"},
			{Key: "node.cluster.x-k8s.io/uninitialized", Effect: "NoSchedule"}}
	case nodeconfig.RoleControlPlane:
		c.Bootstrap.CACertHashes = []string{testHash}
		c.Bootstrap.CertificateKey = testCertKey
	}
	return c
}

// cases renders init, join and control-plane join for two minors that use
// v1beta4, and one old minor that uses v1beta3.
var cases = []struct {
	name    string
	role    string
	version string
	api     string
}{
	{"init-v1.36.3", nodeconfig.RoleInit, "v1.36.3", "kubeadm.k8s.io/v1beta4"},
	{"join-v1.36.3", nodeconfig.RoleJoin, "v1.36.3", "kubeadm.k8s.io/v1beta4"},
	{"control-plane-v1.36.3", nodeconfig.RoleControlPlane, "v1.36.3", "kubeadm.k8s.io/v1beta4"},
	{"init-v1.35.4", nodeconfig.RoleInit, "v1.35.4", "kubeadm.k8s.io/v1beta4"},
	{"join-v1.35.4", nodeconfig.RoleJoin, "v1.35.4", "kubeadm.k8s.io/v1beta4"},
	{"control-plane-v1.35.4", nodeconfig.RoleControlPlane, "v1.35.4", "kubeadm.k8s.io/v1beta4"},
	{"init-v1.30.14", nodeconfig.RoleInit, "v1.30.14", "kubeadm.k8s.io/v1beta3"},
	{"join-v1.30.14", nodeconfig.RoleJoin, "v1.30.14", "kubeadm.k8s.io/v1beta3"},
}

func render(t *testing.T, role, version string) []byte {
	t.Helper()
	c := config(role, version)
	require.NoError(t, nodeconfig.SetDefaults(c, nodeconfig.Env{Hostname: "unused"}))
	require.NoError(t, nodeconfig.Validate(c))
	out, err := kubeadm.Render(c, kubeadm.Options{
		CRISocket: "unix:///run/containerd/containerd.sock", PatchesDir: "/etc/kubebake/patches",
		Labels: map[string]string{nodeconfig.LabelRecipe: "debian-13-containerd", nodeconfig.LabelPlan: "3c32e23a4aa6"},
	})
	require.NoError(t, err)
	return out
}

// TestGolden compares each rendered configuration with its golden file.
// Refresh with: go test ./firstboot/kubeadm -run TestGolden -update
func TestGolden(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := render(t, tc.role, tc.version)
			golden := filepath.Join("..", "..", "testdata", "kubeadm", tc.name+".yaml")
			if *update {
				require.NoError(t, os.WriteFile(golden, out, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run with -update")
			assert.Equal(t, string(want), string(out))
			assert.Contains(t, string(out), "apiVersion: "+tc.api+"\n")
		})
	}
}

// TestKubeadmValidates has a real kubeadm of the same version validate each
// configuration; v1beta3 ones (Kubernetes before 1.31) are read by kubeadm
// v1.36.3, which still accepts that deprecated API, with the version raised
// to one it deploys (it refuses control planes older than 1.35).
func TestKubeadmValidates(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			version := tc.version
			if tc.api == "kubeadm.k8s.io/v1beta3" {
				version = "v1.36.3"
			}
			bin := testutil.Kubeadm(t, version)
			out := render(t, tc.role, tc.version)
			if version != tc.version {
				out = []byte(strings.ReplaceAll(string(out), "kubernetesVersion: "+tc.version, "kubernetesVersion: "+version))
			}
			f := filepath.Join(t.TempDir(), "kubeadm.yaml")
			require.NoError(t, os.WriteFile(f, out, 0o600))
			out, err := exec.Command(bin, "config", "validate", "--config", f).CombinedOutput()
			require.NoError(t, err, "kubeadm %s rejects the configuration:\n%s", tc.version, out)
			assert.Contains(t, string(out), "ok")
		})
	}
}

// TestKubeadmRejectsBroken proves the validation can fail: kubeadm refuses
// a configuration with an unknown field and one with a malformed token.
func TestKubeadmRejectsBroken(t *testing.T) {
	bin := testutil.Kubeadm(t, "v1.36.3")
	good := string(render(t, nodeconfig.RoleJoin, "v1.36.3"))
	for name, bad := range map[string]string{
		"unknown field": strings.Replace(good, "nodeRegistration:", "nodeRegistraton: {}\nnodeRegistration:", 1),
		"bad token":     strings.ReplaceAll(good, testToken, "not-a-token"),
	} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "kubeadm.yaml")
			require.NoError(t, os.WriteFile(f, []byte(bad), 0o600))
			out, err := exec.Command(bin, "config", "validate", "--config", f).CombinedOutput()
			require.Error(t, err, "kubeadm accepted a broken configuration:\n%s", out)
		})
	}
}

func TestAPIVersionFor(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]string{
		"v1.30.14": "kubeadm.k8s.io/v1beta3", "v1.31.0": "kubeadm.k8s.io/v1beta4", "1.36.3": "kubeadm.k8s.io/v1beta4",
	} {
		got, err := kubeadm.APIVersionFor(v)
		require.NoError(t, err, v)
		assert.Equal(t, want, got, v)
	}
	_, err := kubeadm.APIVersionFor("latest")
	assert.Error(t, err)
}

// TestKubeadmAppliesPatches: the patch files PatchFiles names are read
// and applied by a real kubeadm, in order after node.kubelet's, to the
// static Pod it writes (init phase control-plane, dry run).
func TestKubeadmAppliesPatches(t *testing.T) {
	bin := testutil.Kubeadm(t, "v1.36.3")
	c := config(nodeconfig.RoleInit, "v1.36.3")
	c.Node.Patches = []nodeconfig.Patch{
		{Target: "kube-apiserver", Patch: []byte(`{"spec":{"containers":[{"name":"kube-apiserver","livenessProbe":{"failureThreshold":60,"timeoutSeconds":60}}]}}`)},
		{Target: "kube-apiserver", Type: nodeconfig.PatchJSON, Patch: []byte(`[{"op":"add","path":"/metadata/labels/kubebake.dev~1patched","value":"yes"}]`)},
	}
	require.NoError(t, nodeconfig.SetDefaults(c, nodeconfig.Env{Hostname: "unused"}))
	require.NoError(t, nodeconfig.Validate(c))
	files, err := kubeadm.PatchFiles(c)
	require.NoError(t, err)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	assert.ElementsMatch(t, []string{"kube-apiserver100+strategic.json", "kube-apiserver101+json.json"}, names)

	dry, b := testutil.KubeadmDryRun(t, bin, c, []string{"control-plane", "apiserver"})
	assert.Contains(t, b, "Found the following patch files: [kube-apiserver100+strategic.json kube-apiserver101+json.json]")
	manifest, err := os.ReadFile(filepath.Join(dry, "kube-apiserver.yaml"))
	require.NoError(t, err, "%s", b)
	var pod struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec struct {
			Containers []struct {
				Name          string `json:"name"`
				LivenessProbe struct {
					FailureThreshold int `json:"failureThreshold"`
					TimeoutSeconds   int `json:"timeoutSeconds"`
				} `json:"livenessProbe"`
			} `json:"containers"`
		} `json:"spec"`
	}
	require.NoError(t, yaml.Unmarshal(manifest, &pod))
	require.Len(t, pod.Spec.Containers, 1)
	assert.Equal(t, 60, pod.Spec.Containers[0].LivenessProbe.FailureThreshold)
	assert.Equal(t, 60, pod.Spec.Containers[0].LivenessProbe.TimeoutSeconds)
	assert.Equal(t, "yes", pod.Metadata.Labels["kubebake.dev/patched"], "the json patch applied after the strategic one")
}
