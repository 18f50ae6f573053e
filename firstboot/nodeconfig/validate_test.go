package nodeconfig_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
)

// valid returns a defaulted, valid NodeConfig of role, to be broken by a
// test case.
func valid(t *testing.T, role string) *nodeconfig.NodeConfig {
	t.Helper()
	c := &nodeconfig.NodeConfig{
		APIVersion: nodeconfig.APIVersion, Kind: nodeconfig.Kind, Role: role,
		Cluster:   nodeconfig.Cluster{ControlPlaneEndpoint: "lb.example.com:6443"},
		Bootstrap: nodeconfig.Bootstrap{Token: testToken},
	}
	switch role {
	case nodeconfig.RoleInit:
		c.Cluster.PodSubnet = "10.244.0.0/16"
	case nodeconfig.RoleJoin:
		c.Bootstrap.CACertHashes = []string{testHash}
	case nodeconfig.RoleControlPlane:
		c.Bootstrap.CACertHashes = []string{testHash}
		c.Bootstrap.CertificateKey = testCertKey
	}
	require.NoError(t, nodeconfig.SetDefaults(c, nodeconfig.Env{KubernetesVersion: "v1.36.3", Hostname: "node-1"}))
	require.NoError(t, nodeconfig.Validate(c))
	return c
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		role   string
		mutate func(c *nodeconfig.NodeConfig)
		want   []string // field paths, in order; nil means valid
	}{
		{name: "valid init", role: "init", mutate: func(c *nodeconfig.NodeConfig) {}},
		{name: "valid join", role: "join", mutate: func(c *nodeconfig.NodeConfig) {}},
		{name: "valid control-plane", role: "control-plane", mutate: func(c *nodeconfig.NodeConfig) {}},
		{name: "init without endpoint", role: "init", mutate: func(c *nodeconfig.NodeConfig) { c.Cluster.ControlPlaneEndpoint = "" }},
		{name: "init with uploadCerts and a key", role: "init", mutate: func(c *nodeconfig.NodeConfig) {
			c.Bootstrap.UploadCerts, c.Bootstrap.CertificateKey = true, testCertKey
		}},
		{name: "explicit unsafeSkipCAVerification accepted", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Bootstrap.CACertHashes, c.Bootstrap.UnsafeSkipCAVerification = nil, true
		}},
		{name: "join pinned by caCert", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Bootstrap.CACertHashes, c.Bootstrap.CACert = nil, string(selfSigned(t).pem)
		}},
		{name: "IPv6 endpoint and labels with prefix", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Cluster.ControlPlaneEndpoint = "[fd00::1]:6443"
			c.Node.Labels = map[string]string{"kubebake.dev/pool": "edge", "empty": ""}
			c.Node.Taints = &[]nodeconfig.Taint{{Key: "dedicated", Value: "edge", Effect: "PreferNoSchedule"}}
			c.Node.Kubelet = json.RawMessage(`{"maxPods": 30}`)
		}},
		{name: "labels a kubelet may set", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Node.Labels = map[string]string{"node.kubernetes.io/pool": "a", "topology.kubernetes.io/zone": "z1", "kubebake.dev/team": "x"}
		}},
		{name: "node-role label the kubelet refuses", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Node.Labels = map[string]string{"node-role.kubernetes.io/worker": ""}
		}, want: []string{"node.labels[node-role.kubernetes.io/worker]"}},
		{name: "the image's own label", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Node.Labels = map[string]string{nodeconfig.LabelRecipe: "mine"}
		}, want: []string{"node.labels[kubebake.dev/recipe]"}},
		{name: "kubeadm patches", role: "init", mutate: func(c *nodeconfig.NodeConfig) {
			c.Node.Patches = []nodeconfig.Patch{
				{Target: "kube-apiserver", Patch: json.RawMessage(`{"spec":{}}`)},
				{Target: "etcd", Type: "json", Patch: json.RawMessage(`[{"op":"add","path":"/x","value":1}]`)},
				{Target: "corednsdeployment", Type: "merge", Patch: json.RawMessage(`{"spec":{"replicas":1}}`)},
			}
		}},
		{name: "bad kubeadm patches", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Node.Patches = []nodeconfig.Patch{
				{Target: "kube-apiserver", Patch: json.RawMessage(`{}`)},
				{Target: "kubelet", Patch: json.RawMessage(`{}`)},
				{Target: "kubeletconfiguration", Type: "json", Patch: json.RawMessage(`{"op":"add"}`)},
				{Target: "kubeletconfiguration", Type: "strategic", Patch: json.RawMessage(`[1]`)},
				{Target: "kubeletconfiguration", Type: "yaml", Patch: json.RawMessage(`{}`)},
				{Target: "kubeletconfiguration"},
			}
		}, want: []string{"node.patches[0].target", "node.patches[1].target", "node.patches[2].patch", "node.patches[3].patch", "node.patches[4].type", "node.patches[5].patch"}},
		{name: "kubelet null is no kubelet", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Node.Kubelet = json.RawMessage(`null`) }},

		{name: "apiVersion and kind", role: "init", mutate: func(c *nodeconfig.NodeConfig) { c.APIVersion, c.Kind = "v1", "Pod" }, want: []string{"apiVersion", "kind"}},
		{name: "bad role", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Role = "worker" }, want: []string{"role"}},
		{name: "join without token", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Bootstrap.Token = "" }, want: []string{"bootstrap.token"}},
		{name: "malformed token", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Bootstrap.Token = "ABCDEF.0123456789ABCDEF" }, want: []string{"bootstrap.token"}},
		{name: "join without CA pin", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Bootstrap.CACertHashes = nil }, want: []string{"bootstrap.caCertHashes"}},
		{name: "bad CA hash", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Bootstrap.CACertHashes = []string{"md5:abc"} }, want: []string{"bootstrap.caCertHashes[0]"}},
		{name: "bad CA cert", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Bootstrap.CACert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		}, want: []string{"bootstrap.caCert"}},
		{name: "join without endpoint", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Cluster.ControlPlaneEndpoint = "" }, want: []string{"cluster.controlPlaneEndpoint"}},
		{name: "control-plane without certificateKey", role: "control-plane", mutate: func(c *nodeconfig.NodeConfig) { c.Bootstrap.CertificateKey = "" }, want: []string{"bootstrap.certificateKey"}},
		{name: "malformed certificateKey", role: "control-plane", mutate: func(c *nodeconfig.NodeConfig) { c.Bootstrap.CertificateKey = testCertKey[:63] + "Z" }, want: []string{"bootstrap.certificateKey"}},
		{name: "uploadCerts without certificateKey", role: "init", mutate: func(c *nodeconfig.NodeConfig) { c.Bootstrap.UploadCerts = true }, want: []string{"bootstrap.certificateKey"}},
		{name: "certificateKey on join", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Bootstrap.CertificateKey = testCertKey }, want: []string{"bootstrap"}},
		{name: "bad CIDR", role: "init", mutate: func(c *nodeconfig.NodeConfig) { c.Cluster.PodSubnet = "10.244.0.0/16,10.300.0.0/16" }, want: []string{"cluster.podSubnet"}},
		{name: "bad service CIDR", role: "init", mutate: func(c *nodeconfig.NodeConfig) { c.Cluster.ServiceSubnet = "10.96.0.0" }, want: []string{"cluster.serviceSubnet"}},
		{name: "unknown encryption algorithm", role: "init", mutate: func(c *nodeconfig.NodeConfig) { c.Cluster.EncryptionAlgorithm = "ECDSA" }, want: []string{"cluster.encryptionAlgorithm"}},
		{name: "ECDSA before v1beta4", role: "init", mutate: func(c *nodeconfig.NodeConfig) {
			c.Cluster.KubernetesVersion, c.Cluster.EncryptionAlgorithm = "v1.30.14", "ECDSA-P256"
		}, want: []string{"cluster.encryptionAlgorithm"}},
		{name: "ECDSA-P384 before 1.34", role: "init", mutate: func(c *nodeconfig.NodeConfig) {
			c.Cluster.KubernetesVersion, c.Cluster.EncryptionAlgorithm = "v1.33.2", "ECDSA-P384"
		}, want: []string{"cluster.encryptionAlgorithm"}},
		{name: "ECDSA-P384 on 1.34", role: "init", mutate: func(c *nodeconfig.NodeConfig) {
			c.Cluster.KubernetesVersion, c.Cluster.EncryptionAlgorithm = "v1.34.0", "ECDSA-P384"
		}},
		{name: "RSA-2048 before v1beta4", role: "init", mutate: func(c *nodeconfig.NodeConfig) {
			c.Cluster.KubernetesVersion, c.Cluster.EncryptionAlgorithm = "v1.30.14", "RSA-2048"
		}},
		{name: "encryption algorithm on join", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Cluster.EncryptionAlgorithm = "RSA-2048" }, want: []string{"cluster.encryptionAlgorithm"}},
		{name: "podSubnet on join", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Cluster.PodSubnet = "10.244.0.0/16" }, want: []string{"cluster.podSubnet"}},
		{name: "bad version", role: "init", mutate: func(c *nodeconfig.NodeConfig) { c.Cluster.KubernetesVersion = "v1.36" }, want: []string{"cluster.kubernetesVersion"}},
		{name: "no version", role: "init", mutate: func(c *nodeconfig.NodeConfig) { c.Cluster.KubernetesVersion = "" }, want: []string{"cluster.kubernetesVersion"}},
		{name: "bad cluster name and DNS domain", role: "init", mutate: func(c *nodeconfig.NodeConfig) {
			c.Cluster.ClusterName, c.Cluster.DNSDomain = "My_Cluster", "cluster..local"
		}, want: []string{"cluster.clusterName", "cluster.dnsDomain"}},
		{name: "bad endpoint", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Cluster.ControlPlaneEndpoint = "lb.example.com" }, want: []string{"cluster.controlPlaneEndpoint"}},
		{name: "bad endpoint port", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Cluster.ControlPlaneEndpoint = "lb:70000" }, want: []string{"cluster.controlPlaneEndpoint"}},
		{name: "bad endpoint host", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Cluster.ControlPlaneEndpoint = "l_b:6443" }, want: []string{"cluster.controlPlaneEndpoint"}},
		{name: "bad node name", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Node.Name = "Node_1" }, want: []string{"node.name"}},
		{name: "bad advertise address and port", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Node.AdvertiseAddress, c.Node.BindPort = "10.0.0.300", 70000 }, want: []string{"node.advertiseAddress", "node.bindPort"}},
		{name: "bad label key", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Node.Labels = map[string]string{"bad key!": "v"} }, want: []string{"node.labels[bad key!]"}},
		{name: "bad label prefix and value", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Node.Labels = map[string]string{"Example.COM/x": "ok", "/x": "ok", "z": "no spaces"}
		}, want: []string{"node.labels[/x]", "node.labels[Example.COM/x]", "node.labels[z]"}},
		{name: "taint effect", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Node.Taints = &[]nodeconfig.Taint{{Key: "k", Effect: "NoSchedule"}, {Key: "k2", Effect: "Sometimes"}}
		}, want: []string{"node.taints[1].effect"}},
		{name: "taint key and value", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Node.Taints = &[]nodeconfig.Taint{{Key: "", Value: "a b", Effect: "NoExecute"}}
		}, want: []string{"node.taints[0].key", "node.taints[0].value"}},
		{name: "node.kubelet setting cgroupDriver", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Node.Kubelet = json.RawMessage(`{"cgroupDriver": "cgroupfs", "maxPods": 10}`)
		}, want: []string{"node.kubelet.cgroupDriver"}},
		{name: "node.kubelet apiVersion and kind", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Node.Kubelet = json.RawMessage(`{"apiVersion": "x", "kind": "y"}`)
		}, want: []string{"node.kubelet.apiVersion", "node.kubelet.kind"}},
		{name: "node.kubelet not a mapping", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Node.Kubelet = json.RawMessage(`[1]`) }, want: []string{"node.kubelet"}},
		{name: "bad preflight name", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.Node.IgnorePreflightErrors = []string{"NumCPU", "a b"} }, want: []string{"node.ignorePreflightErrors[1]"}},
		{name: "relative CNI manifest on join", role: "join", mutate: func(c *nodeconfig.NodeConfig) { c.CNI.Manifest = "cni.yaml" }, want: []string{"cni.manifest", "cni.manifest"}},
		{name: "bridge with a manifest, bad subnet and name", role: "init", mutate: func(c *nodeconfig.NodeConfig) {
			c.CNI.Manifest = "/etc/cni.yaml"
			c.CNI.Bridge = &nodeconfig.BridgeCNI{Subnet: "10.244.1.0/24,fd00::/300", Name: "a-bridge-name-too-long"}
		}, want: []string{"cni.bridge", "cni.bridge.subnet", "cni.bridge.name"}},
		{name: "bridge on init without any pod range", role: "init", mutate: func(c *nodeconfig.NodeConfig) {
			c.Cluster.PodSubnet = ""
			c.CNI.Bridge = &nodeconfig.BridgeCNI{Name: "cni0"}
		}, want: []string{"cni.bridge.subnet"}},
		{name: "non-positive timeout", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Timeouts.Runtime, c.Timeouts.ControlPlane = nodeconfig.D(0), nodeconfig.D(-time.Minute)
		}, want: []string{"timeouts.runtime", "timeouts.controlPlane"}},
		{name: "hook name", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Hooks.Before = []nodeconfig.Hook{{Name: "Prep Disk", Run: "true"}, {Name: "ok", Run: "true"}}
			c.Hooks.After = []nodeconfig.Hook{{Name: "ok", Run: "true"}, {Name: "empty", Run: "  "}}
		}, want: []string{"hooks.before[0].name", "hooks.after[0].name", "hooks.after[1].run"}},
		{name: "every error at once", role: "join", mutate: func(c *nodeconfig.NodeConfig) {
			c.Role = "control-plane"
			c.Bootstrap.Token = ""
			c.Bootstrap.CACertHashes = nil
			c.Cluster.PodSubnet = "nope"
			c.Node.Kubelet = json.RawMessage(`{"cgroupDriver": "systemd"}`)
			c.Timeouts.Runtime = nodeconfig.D(0)
		}, want: []string{
			"cluster.podSubnet", "cluster.podSubnet", "bootstrap.token", "bootstrap.caCertHashes",
			"bootstrap.certificateKey", "node.kubelet.cgroupDriver", "timeouts.runtime",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := valid(t, tc.role)
			tc.mutate(c)
			err := nodeconfig.Validate(c)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var inv *nodeconfig.InvalidError
			require.ErrorAs(t, err, &inv)
			var paths []string
			for _, fe := range inv.Errors {
				paths = append(paths, fe.Path)
				assert.NotEmpty(t, fe.Message, fe.Path)
				assert.True(t, strings.HasPrefix(err.Error(), "invalid NodeConfig: "))
				assert.Contains(t, err.Error(), fe.Path+": "+fe.Message)
			}
			assert.Equal(t, tc.want, paths)
		})
	}
}

// TestValidateNeverShowsSecrets breaks every field around the secrets and
// checks no message holds the token or certificate key.
func TestValidateNeverShowsSecrets(t *testing.T) {
	t.Parallel()
	secrets := []string{testToken, testCertKey, "ABCDEF.0123456789ABCDEF", "0123456789", strings.ToUpper(testCertKey)}
	tests := []struct {
		name      string
		role      string
		bootstrap nodeconfig.Bootstrap
	}{
		{name: "good secrets on a bad config", role: "worker", bootstrap: nodeconfig.Bootstrap{Token: testToken, CertificateKey: testCertKey, UploadCerts: true}},
		{name: "malformed token", role: "join", bootstrap: nodeconfig.Bootstrap{Token: "ABCDEF.0123456789ABCDEF"}},
		{name: "short token", role: "join", bootstrap: nodeconfig.Bootstrap{Token: "0123456789"}},
		{name: "malformed certificate key", role: "control-plane", bootstrap: nodeconfig.Bootstrap{Token: testToken, CertificateKey: strings.ToUpper(testCertKey)}},
		{name: "certificate key on join", role: "join", bootstrap: nodeconfig.Bootstrap{Token: testToken, CertificateKey: testCertKey}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := valid(t, nodeconfig.RoleJoin)
			c.Role = tc.role
			c.Bootstrap = tc.bootstrap
			c.Cluster.PodSubnet = "bad"
			err := nodeconfig.Validate(c)
			require.Error(t, err)
			var inv *nodeconfig.InvalidError
			require.ErrorAs(t, err, &inv)
			for _, s := range secrets {
				assert.NotContains(t, err.Error(), s)
				for _, fe := range inv.Errors {
					assert.NotContains(t, fe.Message, s)
				}
			}
		})
	}
}
