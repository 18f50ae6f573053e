package firstboot_test

import (
	"context"
	"encoding/base64"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/firstboot"
	"github.com/kubebake/kubebake/firstboot/source"
)

func TestRunNoConfig(t *testing.T) {
	t.Parallel()
	n := newNode(t, "")
	n.write("/var/lib/cloud/instance/user-data.txt", "#!/bin/sh\necho not for us\n", 0o600)
	require.NoError(t, n.run())
	s := n.status()
	assert.Equal(t, firstboot.ResultNoConfig, s.Result)
	assert.Equal(t, []string{"config=no-config"}, phaseNames(s))
	assert.Empty(t, n.runner.commands(n.root))
	for _, p := range []string{firstboot.SuccessMarker, firstboot.FailureMarker, firstboot.CAPISentinel, firstboot.KubeadmConfig, firstboot.Console} {
		assert.False(t, n.exists(p), p)
	}
	assert.Contains(t, n.log.String(), "no NodeConfig found (looked in /var/lib/cloud/instance/user-data.txt")
}

func TestRunSkipRun(t *testing.T) {
	t.Parallel()
	n := newNode(t, withCertKey(initConfig))
	o := n.options()
	o.SkipRun = true
	require.NoError(t, firstboot.Run(context.Background(), o))
	n.checkNoSecrets()
	assert.Empty(t, n.runner.commands(n.root))
	assert.Equal(t, fs.FileMode(0o600), n.mode(firstboot.KubeadmConfig))
	assert.Contains(t, n.read(firstboot.KubeadmConfig), "kind: InitConfiguration")
	s := n.status()
	assert.Equal(t, firstboot.ResultConfigured, s.Result)
	assert.Equal(t, []string{"config=success"}, phaseNames(s))
	for _, p := range []string{firstboot.SuccessMarker, firstboot.FailureMarker, firstboot.CAPISentinel, firstboot.Console} {
		assert.False(t, n.exists(p), p)
	}
	assert.Empty(t, n.clock.waits())
}

// TestRunConfigPhase covers sources, drop-ins and the kubelet patch, with
// SkipRun.
func TestRunConfigPhase(t *testing.T) {
	t.Parallel()
	patch := filepath.Join(firstboot.PatchesDir, "kubeletconfiguration+merge.json")
	tests := []struct {
		name      string
		files     map[string]string
		stale     bool // a patch from an earlier config exists
		wantErr   []string
		wantCfg   []string
		wantPatch string // "" for none
	}{
		{
			name: "cloud-init user data and drop-ins",
			files: map[string]string{
				"/var/lib/cloud/instance/user-data.txt":     "#cloud-config\nwrite_files:\n  - path: /etc/kubebake/node.yaml\n    encoding: b64\n    content: " + b64(joinConfig+"node:\n  kubelet: {maxPods: 50}\n") + "\n",
				"/etc/kubebake/node.d/10-name.yaml":         "node:\n  name: worker-7\n  kubelet: {podPidsLimit: 4096}\n",
				"/etc/kubebake/node.d/20-labels.yml":        "node:\n  labels: {tier: edge}\n",
				"/etc/kubebake/node.d/30-ignored.yaml.orig": "this is not YAML: [",
			},
			wantCfg:   []string{"kind: JoinConfiguration", "name: worker-7", "value: kubebake.dev/kubernetes-version=v1.36.3,kubebake.dev/recipe=debian-13-containerd,tier=edge", "directory: /etc/kubebake/patches"},
			wantPatch: "{\n  \"maxPods\": 50,\n  \"podPidsLimit\": 4096\n}\n",
		},
		{
			name:    "no kubelet removes a stale patch",
			files:   map[string]string{source.NodeConfigPath: joinConfig},
			stale:   true,
			wantCfg: []string{"kind: JoinConfiguration", "name: node-1"},
		},
		{
			name:    "kubelet null is no patch",
			files:   map[string]string{source.NodeConfigPath: joinConfig + "node:\n  kubelet: null\n"},
			wantCfg: []string{"kind: JoinConfiguration"},
		},
		{
			name:    "drop-in unknown field",
			files:   map[string]string{source.NodeConfigPath: joinConfig, "/etc/kubebake/node.d/10.yaml": "node:\n  lables: {}\n"},
			wantErr: []string{"/etc/kubebake/node.d/10.yaml", `unknown field "lables"`},
		},
		{
			name:    "invalid NodeConfig names every field",
			files:   map[string]string{source.NodeConfigPath: nodeConfigHdr + "role: join\nbootstrap:\n  token: " + cfgToken + "\n  certificateKey: " + cfgCertKey + "\n"},
			wantErr: []string{"cluster.controlPlaneEndpoint: required for role join", "bootstrap.caCertHashes", "bootstrap: certificateKey and uploadCerts apply"},
		},
		{
			name:    "bad image.json",
			files:   map[string]string{source.NodeConfigPath: joinConfig, api.ImageInfoPath: "{"},
			wantErr: []string{api.ImageInfoPath},
		},
		{
			name:    "no image.json and no version",
			files:   map[string]string{source.NodeConfigPath: joinConfig, api.ImageInfoPath: `{}`},
			wantErr: []string{"cluster.kubernetesVersion: not set"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, "")
			for p, c := range tc.files {
				n.write(p, c, 0o600)
			}
			if tc.stale {
				n.write(patch, "{}", 0o600)
			}
			o := n.options()
			o.SkipRun = true
			err := firstboot.Run(context.Background(), o)
			n.checkNoSecrets()
			assert.Empty(t, n.runner.commands(n.root))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, firstboot.ErrFailed)
				s := n.status()
				assert.Equal(t, firstboot.ResultFailure, s.Result)
				assert.Equal(t, "config", s.Phase)
				for _, w := range tc.wantErr {
					assert.Contains(t, err.Error(), w)
					assert.Contains(t, s.Error, w)
				}
				assert.True(t, n.exists(firstboot.FailureMarker))
				assert.False(t, n.exists(firstboot.KubeadmConfig))
				return
			}
			require.NoError(t, err)
			cfg := n.read(firstboot.KubeadmConfig)
			for _, w := range tc.wantCfg {
				assert.Contains(t, cfg, w)
			}
			if tc.wantPatch == "" {
				assert.False(t, n.exists(patch))
				assert.NotContains(t, cfg, "patches")
				return
			}
			assert.Equal(t, tc.wantPatch, n.read(patch))
			assert.Equal(t, fs.FileMode(0o600), n.mode(patch))
		})
	}
}

func b64(s string) string {
	return base64.StdEncoding.EncodeToString([]byte(s))
}

// TestRunBrokenNodeConfig: user data that declares a NodeConfig but does
// not parse is a definite failure with the reason and its position, never
// "no NodeConfig".
func TestRunBrokenNodeConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, userData, want string
	}{
		{name: "a tab", userData: "apiVersion: kubebake.dev/v1alpha1\nkind: NodeConfig\nrole: join\n\tcluster: {}\n", want: "line 4"},
		{name: "bad indentation", userData: "apiVersion: kubebake.dev/v1alpha1\nkind: NodeConfig\nrole: join\ncluster:\n  endpoint: a\n endpoint: b\n", want: "yaml: line 5: did not find expected key"},
		{name: "a write_files entry of a broken cloud-config", userData: "#cloud-config\nwrite_files:\n  - path: /etc/kubebake/node.yaml\n    content: [\n", want: "#cloud-config"},
		{name: "our MIME part with bad base64", userData: "Content-Type: multipart/mixed; boundary=X\nMIME-Version: 1.0\n\n--X\nContent-Type: " + source.MediaType + "\nContent-Transfer-Encoding: base64\n\n@@@@\n--X--\n", want: "base64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, "")
			n.write("/var/lib/cloud/instance/user-data.txt", tc.userData, 0o600)
			require.Error(t, n.run())
			s := n.status()
			assert.Equal(t, firstboot.ResultFailure, s.Result)
			assert.Contains(t, s.Error, tc.want)
			assert.True(t, n.exists(firstboot.FailureMarker))
			assert.Contains(t, n.read(firstboot.Console), "kubebake-firstboot: FAILED")
			assert.Empty(t, n.runner.commands(n.root), "kubeadm does not run")
		})
	}
}

// TestRunHugeField: a NodeConfig value of many MiB is refused at the size
// limit, and the reason copied into status.json, the marker and the console
// stays small.
func TestRunHugeField(t *testing.T) {
	t.Parallel()
	for _, size := range []int{2 << 20, 900 << 10} {
		n := newNode(t, "")
		doc := "apiVersion: kubebake.dev/v1alpha1\nkind: NodeConfig\nrole: join\nnode:\n  name: " + strings.Repeat("x", size) + "\n"
		n.write("/var/lib/cloud/instance/user-data.txt", doc, 0o600)
		require.Error(t, n.run())
		s := n.status()
		assert.Equal(t, firstboot.ResultFailure, s.Result)
		if size > 1<<20 {
			assert.Contains(t, s.Error, "more than the limit of 1048576")
		}
		assert.Less(t, len(s.Error), 8<<10, "status.json's reason is bounded")
		assert.Less(t, len(n.read(firstboot.FailureMarker)), 8<<10, "the marker is bounded")
		assert.Less(t, len(n.read(firstboot.Console)), 8<<10, "the console line is bounded")
	}
}

// TestRunConfigPatches: node.patches land in the patches directory under
// the names kubeadm reads, kubeadm.yaml points at it, and a patch an
// earlier attempt wrote and the NodeConfig no longer has is removed.
func TestRunConfigPatches(t *testing.T) {
	t.Parallel()
	n := newNode(t, strings.Replace(withCertKey(initConfig), "  advertiseAddress: 10.0.0.10\n", `  advertiseAddress: 10.0.0.10
  patches:
    - target: kube-apiserver
      patch: {spec: {containers: [{name: kube-apiserver, livenessProbe: {failureThreshold: 60}}]}}
`, 1))
	n.write(firstboot.PatchesDir+"/etcd100+merge.json", "{}", 0o600)
	require.NoError(t, n.run())
	assert.False(t, n.exists(firstboot.PatchesDir+"/etcd100+merge.json"), "a stale patch is removed")
	assert.JSONEq(t, `{"spec":{"containers":[{"name":"kube-apiserver","livenessProbe":{"failureThreshold":60}}]}}`,
		n.read(firstboot.PatchesDir+"/kube-apiserver100+strategic.json"))
	assert.Contains(t, n.read(firstboot.KubeadmConfig), "directory: /etc/kubebake/patches")
}
