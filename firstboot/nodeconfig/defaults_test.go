package nodeconfig_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
)

var tokenShape = regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)

// TestEncryptionAlgorithmDefault: an init node's keys are ECDSA-P256 from
// Kubernetes 1.31 (kubeadm's v1beta4), kubeadm's own RSA-2048 before; a
// choice is kept; joining nodes take the cluster's.
func TestEncryptionAlgorithmDefault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc, version, want string
	}{
		{"init on 1.36", "role: init\n", "v1.36.3", "ECDSA-P256"},
		{"init on 1.31, the first with v1beta4", "role: init\n", "v1.31.0", "ECDSA-P256"},
		{"init on 1.30: kubeadm's RSA-2048", "role: init\n", "v1.30.14", ""},
		{"init keeps its choice", "role: init\ncluster: {encryptionAlgorithm: RSA-4096}\n", "v1.36.3", "RSA-4096"},
		{"join takes the cluster's", "role: join\n", "v1.36.3", ""},
		{"control-plane takes the cluster's", "role: control-plane\n", "v1.36.3", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := decode(t, header+tc.doc)
			require.NoError(t, nodeconfig.SetDefaults(c, nodeconfig.Env{KubernetesVersion: tc.version, Hostname: "h"}))
			assert.Equal(t, tc.want, c.Cluster.EncryptionAlgorithm)
		})
	}
}

func TestSetDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		doc       string
		env       nodeconfig.Env
		wantVer   string
		wantName  string
		wantToken string // "generated", "" or a literal
	}{
		{name: "init generates a token", doc: "role: init\n", env: nodeconfig.Env{KubernetesVersion: "v1.36.3", Hostname: "Node-A.Example"}, wantVer: "v1.36.3", wantName: "node-a.example", wantToken: "generated"},
		{name: "version without v", doc: "role: init\n", env: nodeconfig.Env{KubernetesVersion: "1.35.4", Hostname: "h"}, wantVer: "v1.35.4", wantName: "h", wantToken: "generated"},
		{name: "config version wins over image", doc: "role: init\ncluster: {kubernetesVersion: 1.30.14}\n", env: nodeconfig.Env{KubernetesVersion: "v1.36.3", Hostname: "h"}, wantVer: "v1.30.14", wantName: "h", wantToken: "generated"},
		{name: "no version anywhere", doc: "role: init\n", env: nodeconfig.Env{Hostname: "h"}, wantVer: "", wantName: "h", wantToken: "generated"},
		{name: "init keeps its token", doc: "role: init\nbootstrap: {token: " + testToken + "}\nnode: {name: given}\n", env: nodeconfig.Env{Hostname: "h"}, wantName: "given", wantToken: testToken},
		{name: "join gets no token", doc: "role: join\n", env: nodeconfig.Env{Hostname: "WORKER1"}, wantName: "worker1", wantToken: ""},
		{name: "control-plane gets no token", doc: "role: control-plane\n", env: nodeconfig.Env{Hostname: "cp2"}, wantName: "cp2", wantToken: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := decode(t, header+tc.doc)
			require.NoError(t, nodeconfig.SetDefaults(c, tc.env))
			assert.Equal(t, tc.wantVer, c.Cluster.KubernetesVersion)
			assert.Equal(t, tc.wantName, c.Node.Name)
			switch tc.wantToken {
			case "generated":
				assert.Regexp(t, tokenShape, c.Bootstrap.Token)
			default:
				assert.Equal(t, tc.wantToken, c.Bootstrap.Token)
			}
			assert.Equal(t, nodeconfig.DefaultClusterName, c.Cluster.ClusterName)
			assert.Equal(t, nodeconfig.DefaultBindPort, c.Node.BindPort)
			if c.Role == nodeconfig.RoleInit {
				assert.Equal(t, nodeconfig.DefaultServiceSubnet, c.Cluster.ServiceSubnet)
				assert.Equal(t, nodeconfig.DefaultDNSDomain, c.Cluster.DNSDomain)
			} else {
				assert.Empty(t, c.Cluster.ServiceSubnet, "joining nodes take the cluster's")
				assert.Empty(t, c.Cluster.DNSDomain)
			}
			require.NotNil(t, c.Timeouts.Runtime)
			assert.Equal(t, 5*time.Minute, c.Timeouts.Runtime.Duration)
			require.NotNil(t, c.Timeouts.ControlPlane)
			assert.Equal(t, 20*time.Minute, c.Timeouts.ControlPlane.Duration)
			assert.NotNil(t, c.Timeouts.ControlPlaneComponentHealthCheck)
			assert.NotNil(t, c.Timeouts.KubeletHealthCheck)
			assert.NotNil(t, c.Timeouts.KubernetesAPICall)
			assert.NotNil(t, c.Timeouts.TLSBootstrap)
		})
	}
}

func TestSetDefaultsKeepsTimeouts(t *testing.T) {
	t.Parallel()
	c := decode(t, header+"role: join\ntimeouts: {runtime: 30s, controlPlane: 1h}\n")
	require.NoError(t, nodeconfig.SetDefaults(c, nodeconfig.Env{Hostname: "h"}))
	assert.Equal(t, 30*time.Second, c.Timeouts.Runtime.Duration)
	assert.Equal(t, time.Hour, c.Timeouts.ControlPlane.Duration)
}

func TestGenerateToken(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		tok, err := nodeconfig.GenerateToken()
		require.NoError(t, err)
		assert.Regexp(t, tokenShape, tok)
		assert.False(t, seen[tok], "token %d repeats", i)
		seen[tok] = true
	}
	a := decode(t, header+"role: init\n")
	b := decode(t, header+"role: init\n")
	require.NoError(t, nodeconfig.SetDefaults(a, nodeconfig.Env{Hostname: "h"}))
	require.NoError(t, nodeconfig.SetDefaults(b, nodeconfig.Env{Hostname: "h"}))
	assert.NotEqual(t, a.Bootstrap.Token, b.Bootstrap.Token)
}
