package nodeconfig_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
)

const (
	testToken   = "abcdef.0123456789abcdef"
	testCertKey = "f2a6d5f8b8c1e1f3a0b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80912"
	testHash    = "sha256:7f1b2a5c3c9d6e4f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"
)

var tokenShape = regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)

func decode(t *testing.T, doc string) *nodeconfig.NodeConfig {
	t.Helper()
	c, err := nodeconfig.Decode([]byte(doc))
	require.NoError(t, err)
	return c
}

const header = "apiVersion: kubebake.dev/v1alpha1\nkind: NodeConfig\n"

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		doc     string
		wantErr []string
	}{
		{
			name: "valid",
			doc:  header + "role: join\ncluster:\n  controlPlaneEndpoint: lb:6443\nbootstrap:\n  token: " + testToken + "\ntimeouts:\n  controlPlane: 90s\n",
		},
		{name: "unknown top-level field", doc: header + "role: init\nrolle: join\n", wantErr: []string{`unknown field "rolle"`}},
		{name: "unknown nested field", doc: header + "role: init\nnode:\n  nmae: x\n", wantErr: []string{`unknown field "nmae"`}},
		{name: "duplicate key", doc: header + "role: init\nrole: join\n", wantErr: []string{"role"}},
		{name: "wrong type", doc: header + "role: init\nnode:\n  bindPort: high\n", wantErr: []string{"decode NodeConfig"}},
		{name: "bad duration", doc: header + "timeouts:\n  runtime: soon\n", wantErr: []string{`"soon" is not a duration`}},
		{name: "duration not a string", doc: header + "timeouts:\n  runtime: [1]\n", wantErr: []string{"a duration is a string"}},
		{name: "not YAML", doc: "role: [init\n", wantErr: []string{"decode NodeConfig"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := nodeconfig.Decode([]byte(tc.doc))
			if len(tc.wantErr) == 0 {
				require.NoError(t, err)
				assert.Equal(t, nodeconfig.RoleJoin, c.Role)
				assert.Equal(t, 90*time.Second, c.Timeouts.ControlPlane.Duration)
				return
			}
			require.Error(t, err)
			for _, w := range tc.wantErr {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestMergeInto(t *testing.T) {
	t.Parallel()
	base := header + `role: init
cluster:
  podSubnet: 10.244.0.0/16
node:
  name: base
  labels: {a: "1", b: "2"}
  taints: [{key: k, effect: NoSchedule}]
  ignorePreflightErrors: [NumCPU, Mem]
  kubelet: {maxPods: 50, evictionHard: {memory.available: 100Mi}}
hooks:
  before: [{name: one, run: "true"}]
`
	tests := []struct {
		name    string
		dropIns []string
		check   func(t *testing.T, c *nodeconfig.NodeConfig)
		wantErr string
	}{
		{
			name:    "scalar replaces, the rest stays",
			dropIns: []string{"node:\n  name: dropped\n"},
			check: func(t *testing.T, c *nodeconfig.NodeConfig) {
				assert.Equal(t, "dropped", c.Node.Name)
				assert.Equal(t, "10.244.0.0/16", c.Cluster.PodSubnet)
				assert.Equal(t, map[string]string{"a": "1", "b": "2"}, c.Node.Labels)
				assert.Equal(t, []string{"NumCPU", "Mem"}, c.Node.IgnorePreflightErrors)
			},
		},
		{
			name:    "list replaces",
			dropIns: []string{"node:\n  ignorePreflightErrors: [Swap]\nhooks:\n  before: [{name: two, run: x}]\n"},
			check: func(t *testing.T, c *nodeconfig.NodeConfig) {
				assert.Equal(t, []string{"Swap"}, c.Node.IgnorePreflightErrors)
				assert.Equal(t, []nodeconfig.Hook{{Name: "two", Run: "x"}}, c.Hooks.Before)
			},
		},
		{
			name:    "map merges",
			dropIns: []string{"node:\n  labels: {b: \"20\", c: \"3\"}\n"},
			check: func(t *testing.T, c *nodeconfig.NodeConfig) {
				assert.Equal(t, map[string]string{"a": "1", "b": "20", "c": "3"}, c.Node.Labels)
			},
		},
		{
			name:    "kubelet map merges deeply",
			dropIns: []string{"node:\n  kubelet: {podPidsLimit: 9007199254740993, evictionHard: {nodefs.available: 5%}}\n"},
			check: func(t *testing.T, c *nodeconfig.NodeConfig) {
				assert.Contains(t, string(c.Node.Kubelet), `"podPidsLimit":9007199254740993`, "numbers kept as written")
				var got map[string]any
				require.NoError(t, json.Unmarshal(c.Node.Kubelet, &got))
				assert.Equal(t, map[string]any{
					"maxPods": 50.0, "podPidsLimit": 9007199254740993.0,
					"evictionHard": map[string]any{"memory.available": "100Mi", "nodefs.available": "5%"},
				}, got)
			},
		},
		{
			name:    "kubelet: null clears",
			dropIns: []string{"node:\n  kubelet: null\n"},
			check: func(t *testing.T, c *nodeconfig.NodeConfig) {
				assert.Equal(t, "null", string(c.Node.Kubelet))
			},
		},
		{
			name:    "kubelet untouched by a drop-in",
			dropIns: []string{"node:\n  name: x\n"},
			check: func(t *testing.T, c *nodeconfig.NodeConfig) {
				assert.JSONEq(t, `{"maxPods": 50, "evictionHard": {"memory.available": "100Mi"}}`, string(c.Node.Kubelet))
			},
		},
		{
			name:    "taints: [] clears to an explicit empty list",
			dropIns: []string{"node:\n  taints: []\n"},
			check: func(t *testing.T, c *nodeconfig.NodeConfig) {
				require.NotNil(t, c.Node.Taints)
				assert.Empty(t, *c.Node.Taints)
			},
		},
		{
			name:    "taints replaced",
			dropIns: []string{"node:\n  taints: [{key: x, value: v, effect: NoExecute}]\n"},
			check: func(t *testing.T, c *nodeconfig.NodeConfig) {
				require.NotNil(t, c.Node.Taints)
				assert.Equal(t, []nodeconfig.Taint{{Key: "x", Value: "v", Effect: "NoExecute"}}, *c.Node.Taints)
			},
		},
		{
			name:    "later drop-ins win",
			dropIns: []string{"role: join\nnode:\n  name: first\n", "node:\n  name: second\n", "# only a comment\n", ""},
			check: func(t *testing.T, c *nodeconfig.NodeConfig) {
				assert.Equal(t, nodeconfig.RoleJoin, c.Role)
				assert.Equal(t, "second", c.Node.Name)
				assert.Len(t, *c.Node.Taints, 1)
			},
		},
		{name: "unknown field in a drop-in", dropIns: []string{"node:\n  lables: {}\n"}, wantErr: `drop-in: unknown field "lables"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := decode(t, base)
			var err error
			for _, d := range tc.dropIns {
				if err = nodeconfig.MergeInto(c, []byte(d)); err != nil {
					break
				}
			}
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, c)
		})
	}
}

func TestTaintsAbsentIsNil(t *testing.T) {
	t.Parallel()
	c := decode(t, header+"role: init\n")
	require.NoError(t, nodeconfig.MergeInto(c, []byte("node:\n  name: x\n")))
	assert.Nil(t, c.Node.Taints, "absent taints keep kubeadm's default")

	c = decode(t, header+"role: init\nnode:\n  taints: []\n")
	require.NotNil(t, c.Node.Taints)
	assert.Empty(t, *c.Node.Taints)
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

type cert struct {
	pem  []byte
	spki []byte
	key  []byte // PKCS#8 PEM
}

func selfSigned(t *testing.T) cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kubernetes"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	parsed, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return cert{
		pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), spki: parsed.RawSubjectPublicKeyInfo,
		key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
}

func TestValidateCAKey(t *testing.T) {
	t.Parallel()
	ca, other := selfSigned(t), selfSigned(t)
	for _, tc := range []struct {
		name, role, cert, key string
		want                  []string
	}{
		{name: "init with a CA and its key", role: "init", cert: string(ca.pem), key: string(ca.key)},
		{name: "init with a CA but no key", role: "init", cert: string(ca.pem), want: []string{"bootstrap.caCert: an init node signs with its CA: give bootstrap.caKey too"}},
		{name: "init with another CA's key", role: "init", cert: string(ca.pem), key: string(other.key), want: []string{"bootstrap.caKey: is not the key of bootstrap.caCert"}},
		{name: "init with a key but no CA", role: "init", key: string(ca.key), want: []string{"bootstrap.caKey: needs bootstrap.caCert, the certificate of the key"}},
		{name: "init with a key that is not PEM", role: "init", cert: string(ca.pem), key: "secretgarbage", want: []string{"bootstrap.caKey: is not a PEM private key"}},
		{name: "a key on join", role: "join", cert: string(ca.pem), key: string(ca.key), want: []string{"bootstrap.caKey: applies to role init only"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := valid(t, tc.role)
			c.Bootstrap.CACert, c.Bootstrap.CAKey = tc.cert, tc.key
			err := nodeconfig.Validate(c)
			if len(tc.want) == 0 {
				require.NoError(t, err)
				return
			}
			var inv *nodeconfig.InvalidError
			require.ErrorAs(t, err, &inv)
			var got []string
			for _, fe := range inv.Errors {
				got = append(got, fe.Error())
			}
			assert.Equal(t, tc.want, got)
			assert.NotContains(t, err.Error(), "PRIVATE KEY")
			assert.NotContains(t, err.Error(), "secretgarbage")
		})
	}
}

func TestCACertHash(t *testing.T) {
	t.Parallel()
	c := selfSigned(t)
	sum := sha256.Sum256(c.spki)
	got, err := nodeconfig.CACertHash(string(c.pem))
	require.NoError(t, err)
	assert.Equal(t, "sha256:"+hex.EncodeToString(sum[:]), got)
	assert.Regexp(t, `^sha256:[a-f0-9]{64}$`, got)

	for _, bad := range []struct{ name, pem string }{
		{name: "empty", pem: ""},
		{name: "not PEM", pem: "hello"},
		{name: "a key, not a certificate", pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
		{name: "garbage DER", pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, err := nodeconfig.CACertHash(bad.pem)
			assert.Error(t, err)
		})
	}
}

func TestLooksLike(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		want bool
	}{
		{name: "NodeConfig", doc: header + "role: init\n", want: true},
		{name: "NodeConfig with unknown fields", doc: header + "whatever: 1\n", want: true},
		{name: "other kind", doc: "apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\n"},
		{name: "other apiVersion", doc: "apiVersion: v1\nkind: NodeConfig\n"},
		{name: "shell script", doc: "#!/bin/sh\necho NodeConfig\n"},
		{name: "not YAML", doc: "kind: NodeConfig\n  - [\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, nodeconfig.LooksLike([]byte(tc.doc)))
		})
	}
}

func TestDurationJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(nodeconfig.D(90 * time.Second))
	require.NoError(t, err)
	assert.Equal(t, `"1m30s"`, string(b))
	var d nodeconfig.Duration
	require.NoError(t, json.Unmarshal([]byte(`"5m"`), &d))
	assert.Equal(t, 5*time.Minute, d.Duration)
	assert.Error(t, json.Unmarshal([]byte(`300`), &d))
}
