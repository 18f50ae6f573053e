package nodeconfig_test

import (
	"encoding/json"
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

// TestDeclares: the apiVersion and kind lines say a document is a
// NodeConfig even when it does not parse.
func TestDeclares(t *testing.T) {
	t.Parallel()
	cases := []struct {
		doc            string
		declares, kind bool
	}{
		{"apiVersion: kubebake.dev/v1alpha1\nkind: NodeConfig\nrole: [\n", true, true},
		{"apiVersion: \"kubebake.dev/v1alpha1\"\r\nkind: 'NodeConfig'  \r\n", true, true},
		{"apiVersion: kubebake.dev/v1beta9\nkind: NodeConfig\n", false, true},
		{"kind: Recipe\napiVersion: kubebake.dev/v1alpha1\n", false, false},
		{"metadata:\n  kind: NodeConfig\napiVersion: kubebake.dev/v1alpha1\n", false, false},
		{"#cloud-config\nwrite_files: []\n", false, false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.declares, nodeconfig.Declares([]byte(tc.doc)), "%q", tc.doc)
		assert.Equal(t, tc.kind, nodeconfig.DeclaresKind([]byte(tc.doc)), "%q", tc.doc)
	}
}
