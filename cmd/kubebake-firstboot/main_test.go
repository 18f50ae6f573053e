package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const validJoin = `apiVersion: kubebake.dev/v1alpha1
kind: NodeConfig
role: join
cluster:
  controlPlaneEndpoint: 10.0.0.10:6443
  kubernetesVersion: v1.36.3
bootstrap:
  token: k8sfb1.s3cr3ttok3nvalue
  caCertHashes: ["sha256:7f1b2a5c3c9d6e4f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"]
node:
  name: worker-1
`

const invalidJoin = `apiVersion: kubebake.dev/v1alpha1
kind: NodeConfig
role: join
cluster:
  kubernetesVersion: v1.36.3
bootstrap:
  token: k8sfb1.s3cr3ttok3nvalue
node:
  name: worker-1
`

func TestRun(t *testing.T) {
	t.Parallel()
	writeConfig := func(t *testing.T, doc string) string {
		p := filepath.Join(t.TempDir(), "node.yaml")
		require.NoError(t, os.WriteFile(p, []byte(doc), 0o600))
		return p
	}
	tests := []struct {
		name string
		// args builds the arguments from a temp root and a config file.
		args       func(root, config string) []string
		config     string
		wantCode   int
		wantStdout []string
		wantStderr []string
		check      func(t *testing.T, root string)
	}{
		{
			name:       "unknown flag",
			args:       func(root, _ string) []string { return []string{"--root", root, "--frobnicate"} },
			wantCode:   2,
			wantStderr: []string{"flag provided but not defined: -frobnicate", "Usage: kubebake-firstboot"},
		},
		{
			name:       "bad --skip",
			args:       func(root, _ string) []string { return []string{"--root", root, "--skip", "run,config"} },
			wantCode:   2,
			wantStderr: []string{`--skip: unknown phase "config" (want run)`},
		},
		{
			name:       "bad --imds",
			args:       func(root, _ string) []string { return []string{"--root", root, "--imds", "sometimes"} },
			wantCode:   2,
			wantStderr: []string{`--imds: want auto, always or never, got "sometimes"`},
		},
		{
			name:       "extra arguments",
			args:       func(root, _ string) []string { return []string{"--root", root, "init"} },
			wantCode:   2,
			wantStderr: []string{"unexpected arguments: init"},
		},
		{
			name:       "--help",
			args:       func(string, string) []string { return []string{"--help"} },
			wantCode:   0,
			wantStderr: []string{"Usage: kubebake-firstboot", "-skip string", "-imds string"},
		},
		{
			name:       "--version",
			args:       func(string, string) []string { return []string{"--version"} },
			wantCode:   0,
			wantStdout: []string{"kubebake-firstboot dev\n"},
		},
		{
			name:       "no NodeConfig",
			args:       func(root, _ string) []string { return []string{"--root", root, "--imds", "auto", "--console", "-"} },
			wantCode:   0,
			wantStdout: []string{"no NodeConfig found"},
			check: func(t *testing.T, root string) {
				var s struct{ Result string }
				b, err := os.ReadFile(filepath.Join(root, "var/lib/kubebake/status.json"))
				require.NoError(t, err)
				require.NoError(t, json.Unmarshal(b, &s))
				assert.Equal(t, "no-config", s.Result)
			},
		},
		{
			name: "invalid NodeConfig",
			args: func(root, config string) []string {
				return []string{"--config", config, "--root", root, "--imds", "never", "--console", "-"}
			},
			config:     invalidJoin,
			wantCode:   1,
			wantStdout: []string{"kubebake-firstboot: FAILED: config phase"},
			wantStderr: []string{"kubebake-firstboot failed", "cluster.controlPlaneEndpoint: required for role join", "bootstrap.caCertHashes: a join must pin the cluster CA"},
			check: func(t *testing.T, root string) {
				_, err := os.Stat(filepath.Join(root, "var/lib/kubebake/firstboot.failed"))
				assert.NoError(t, err)
			},
		},
		{
			name: "--skip run writes the kubeadm configuration",
			args: func(root, config string) []string {
				return []string{"--config", config, "--skip", "run", "--root", root, "--console", "-"}
			},
			config:     validJoin,
			wantCode:   0,
			wantStdout: []string{"config: join node worker-1, Kubernetes v1.36.3"},
			check: func(t *testing.T, root string) {
				fi, err := os.Stat(filepath.Join(root, "etc/kubebake/kubeadm.yaml"))
				require.NoError(t, err)
				assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
				b, err := os.ReadFile(filepath.Join(root, "etc/kubebake/kubeadm.yaml"))
				require.NoError(t, err)
				assert.Contains(t, string(b), "kind: JoinConfiguration")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			config := ""
			if tc.config != "" {
				config = writeConfig(t, tc.config)
			}
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), tc.args(root, config), &stdout, &stderr)
			assert.Equal(t, tc.wantCode, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			for _, w := range tc.wantStdout {
				assert.Contains(t, stdout.String(), w)
			}
			for _, w := range tc.wantStderr {
				assert.Contains(t, stderr.String(), w)
			}
			for _, out := range []string{stdout.String(), stderr.String()} {
				assert.NotContains(t, out, "s3cr3ttok3nvalue")
			}
			if tc.check != nil {
				tc.check(t, root)
			}
		})
	}
}
