package render_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ignition "github.com/coreos/ignition/v2/config/v3_5"
	toml "github.com/pelletier/go-toml/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"
)

// ---------------------------------------------------------------------------
// The checks can fail: each consumer rejects a broken input.

// TestConsumerSystemdVerifyRejectsBrokenUnits proves that the systemd check
// fails on the mistakes it is there to catch, and passes a good unit.
func TestConsumerSystemdVerifyRejectsBrokenUnits(t *testing.T) {
	t.Parallel()
	good := "[Unit]\nDescription=good\nAfter=network-online.target\n\n[Service]\nType=oneshot\nExecStart=/usr/local/bin/tool --flag\n\n[Install]\nWantedBy=multi-user.target\n"
	cases := []struct {
		name   string
		unit   string
		dropIn string // placed as tool.service.d/10-test.conf
		want   string // in systemd-analyze's output; empty: no finding
	}{
		{name: "good unit passes", unit: good},
		{name: "good drop-in passes", unit: good, dropIn: "[Service]\nEnvironment=A=b\n"},
		{name: "unknown directive", unit: strings.Replace(good, "Type=oneshot", "Type=oneshot\nRestartSecs=2", 1), want: "Unknown key"},
		{name: "unknown section", unit: strings.Replace(good, "[Install]", "[Instal]", 1), want: "Unknown section"},
		{name: "line without equals", unit: strings.Replace(good, "Type=oneshot", "Type oneshot", 1), want: "Missing '='"},
		{name: "bad value", unit: strings.Replace(good, "Type=oneshot", "Type=oneshot\nRestart=sometimes", 1), want: "Failed to parse"},
		{name: "missing executable", unit: strings.Replace(good, "/usr/local/bin/tool", "/usr/local/bin/no-such-tool", 1), want: "is not executable"},
		{name: "missing required unit", unit: strings.Replace(good, "After=", "Requires=no-such.service\nAfter=", 1), want: "no-such.service"},
		{name: "unknown directive in drop-in", unit: good, dropIn: "[Service]\nEnviroment=A=b\n", want: "Unknown key"},
	}
	bin := consumerBinary(t, "systemd-analyze")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			root := consumerSystemdRoot(t)
			consumerPut(t, root, "/usr/local/bin/tool", []byte("#!/bin/sh\nexit 0\n"), 0o755)
			consumerPut(t, root, "/etc/systemd/system/tool.service", []byte(c.unit), 0o644)
			if c.dropIn != "" {
				consumerPut(t, root, "/etc/systemd/system/tool.service.d/10-test.conf", []byte(c.dropIn), 0o644)
			}
			findings, err := consumerVerify(bin, root, "tool.service", nil)
			out := strings.Join(findings, "\n")
			if c.want == "" {
				assert.NoError(t, err, "%s", out)
				return
			}
			require.Error(t, err, "systemd-analyze verify accepted a broken unit")
			assert.Contains(t, out, c.want)
		})
	}
}

// TestConsumerValidatorsRejectBrokenInput proves that every other check can
// fail: each consumer rejects what it is there to reject.
func TestConsumerValidatorsRejectBrokenInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		run  func(t *testing.T) error
	}{
		{"shellcheck flags an unquoted expansion", func(t *testing.T) error {
			p := filepath.Join(t.TempDir(), "s.sh")
			require.NoError(t, os.WriteFile(p, []byte("#!/usr/bin/env bash\nset -euo pipefail\nrm -rf $1/tmp\n"), 0o755))
			out, err := consumerShellcheck(consumerBinary(t, "shellcheck"), p)
			assert.Contains(t, out, "SC2086")
			return err
		}},
		{"shellcheck flags a style finding", func(t *testing.T) error {
			p := filepath.Join(t.TempDir(), "s.sh")
			require.NoError(t, os.WriteFile(p, []byte("#!/usr/bin/env bash\nx=`date`\necho \"$x\"\n"), 0o755))
			out, err := consumerShellcheck(consumerBinary(t, "shellcheck"), p)
			assert.Contains(t, out, "SC2006")
			return err
		}},
		{"dockerd rejects an unknown directive", func(t *testing.T) error {
			p := filepath.Join(t.TempDir(), "daemon.json")
			require.NoError(t, os.WriteFile(p, []byte(`{"exec-opts": ["native.cgroupdriver=systemd"], "max-concurrent-download": 5}`), 0o644))
			_, _, err := consumerRun(consumerBinary(t, "dockerd"), "--validate", "--config-file", p)
			return err
		}},
		{"containerd rejects broken TOML", func(t *testing.T) error {
			p := filepath.Join(t.TempDir(), "config.toml")
			require.NoError(t, os.WriteFile(p, []byte("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"\n  sandbox_image = 1\n"), 0o644))
			_, _, err := consumerRun(consumerBinary(t, "containerd"), "--config", p, "config", "dump")
			return err
		}},
		{"containerd dump tells a lost setting", func(t *testing.T) error {
			p := filepath.Join(t.TempDir(), "config.toml")
			require.NoError(t, os.WriteFile(p, []byte("version = 2\n"), 0o644))
			stdout, _, err := consumerRun(consumerBinary(t, "containerd"), "--config", p, "config", "dump")
			require.NoError(t, err)
			var dump map[string]any
			require.NoError(t, toml.Unmarshal([]byte(stdout), &dump))
			if v := consumerDig(dump, "plugins", consumerCRIPlugin, "containerd", "runtimes", "runc", "options", "SystemdCgroup"); v != true {
				return fmt.Errorf("SystemdCgroup is %v", v)
			}
			return nil
		}},
		{"strict TOML rejects a misspelt CRI-O key", func(t *testing.T) error {
			var c consumerCRIODropIn
			return consumerStrictTOML([]byte("[crio.runtime]\ncgroup_manger = \"systemd\"\n"), &c)
		}},
		{"strict TOML rejects a misspelt registries key", func(t *testing.T) error {
			var rc consumerRegistriesConf
			return consumerStrictTOML([]byte("[[registry]]\nprefix = \"docker.io\"\n[[registry.mirror]]\nlocaton = \"m\"\n"), &rc)
		}},
		{"strict TOML rejects a misspelt hosts.toml key", func(t *testing.T) error {
			var h consumerContainerdHosts
			return consumerStrictTOML([]byte("server = \"https://registry-1.docker.io\"\n[host.\"https://m\"]\n  capabilites = [\"pull\"]\n"), &h)
		}},
		{"KubeletConfiguration rejects an unknown field", func(t *testing.T) error {
			var kc kubeletv1beta1.KubeletConfiguration
			return yaml.UnmarshalStrict([]byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriverr: systemd\n"), &kc)
		}},
		{"Ignition rejects a relative path", func(t *testing.T) error {
			_, rep, err := ignition.Parse([]byte(`{"ignition":{"version":"3.5.0"},"storage":{"files":[{"path":"etc/x"}]}}`))
			if err == nil && rep.IsFatal() {
				err = errors.New(rep.String())
			}
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			assert.Error(t, c.run(t), "the consumer accepted a broken input")
		})
	}
}
