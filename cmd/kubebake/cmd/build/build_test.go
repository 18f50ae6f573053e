package build

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/internal/bake"
	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/internal/manifest"
)

// bakeResult is what bake.Build returns for a qcow2 of debian-13-containerd.
func bakeResult() *bake.Result {
	return &bake.Result{
		Image: "out/debian-13-containerd.qcow2", Manifest: "out/manifest.json",
		M: manifest.Manifest{
			Name: "debian-13-containerd", Image: "debian-13-containerd.qcow2", Format: "qcow2", Size: 612345678,
			SHA256: "9f2c0e8a4b1d7e6f5a3c2b1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f", VirtualSize: 4 << 30,
			Recipe: "debian-13-containerd", Distro: "debian", Release: "13", Arch: "amd64", KubernetesVersion: "v1.36.3",
			PlanDigest: "sha256:181ac75d", Mode: "chroot", BuiltAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
			BuildSeconds: 312.5, Steps: []manifest.StepTiming{{Name: "kernel-modules", Seconds: 0.2}},
			SchemaVersion: manifest.SchemaVersion, SBOM: "debian-13-containerd.spdx.json",
		},
	}
}

// TestResult: build's result as text (three lines), JSON and YAML (one
// document each, the manifest inside, read back equal).
func TestResult(t *testing.T) {
	t.Parallel()
	res := newResult(bakeResult())
	want := Result{
		Name: "debian-13-containerd", Image: "out/debian-13-containerd.qcow2", Manifest: "out/manifest.json", Format: "qcow2",
		Size: 612345678, SHA256: "9f2c0e8a4b1d7e6f5a3c2b1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f",
		PlanDigest: "sha256:181ac75d", SBOM: "out/debian-13-containerd.spdx.json", ManifestData: bakeResult().M,
	}
	assert.Equal(t, want, *res)

	tests := []struct {
		name   string
		format string
		check  func(t *testing.T, out []byte)
	}{
		{name: "text", format: cli.Text, check: func(t *testing.T, out []byte) {
			assert.Equal(t, "image out/debian-13-containerd.qcow2 (qcow2, 612345678 bytes, sha256 9f2c0e8a4b1d7e6f5a3c2b1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f)\n"+
				"manifest out/manifest.json\nsbom out/debian-13-containerd.spdx.json\n", string(out))
		}},
		{name: "json", format: cli.JSON, check: func(t *testing.T, out []byte) {
			dec := json.NewDecoder(bytes.NewReader(out))
			var got Result
			require.NoError(t, dec.Decode(&got))
			assert.Equal(t, want, got)
			assert.False(t, dec.More(), "one document")
			var fields map[string]any
			require.NoError(t, json.Unmarshal(out, &fields))
			assert.Equal(t, "out/debian-13-containerd.qcow2", fields["image"])
			assert.Equal(t, "sha256:181ac75d", fields["planDigest"])
			assert.Equal(t, "debian-13-containerd.qcow2", fields["manifestData"].(map[string]any)["image"])
		}},
		{name: "yaml", format: cli.YAML, check: func(t *testing.T, out []byte) {
			var got Result
			require.NoError(t, yaml.UnmarshalStrict(out, &got), string(out))
			assert.Equal(t, want, got)
			assert.Contains(t, string(out), "planDigest: sha256:181ac75d\n")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			require.NoError(t, cli.Print(&out, tc.format, res, res.text))
			tc.check(t, out.Bytes())
		})
	}
}

// execute runs the build command as the kubebake root sets up its
// subcommands.
func execute(args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	cmd := NewCommand("v0.0.0-test", &out, &errb, cli.NewLogger(&errb, slog.LevelInfo))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cli.Usage(err) })
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errb.String(), err
}

// TestUsageErrors: the flags are checked before anything is baked; the old
// -o OUTDIR points to --dest.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		err  string
	}{
		{name: "the old -o OUTDIR", args: []string{"debian-13-containerd", "--base", "b.qcow2", "-o", "out/"},
			err: `-o "out/": unknown output format (want text, json or yaml); the output path is --dest`},
		{name: "no --dest", args: []string{"debian-13-containerd", "--base", "b.qcow2", "-o", "json"},
			err: "build: --dest OUTDIR and --base IMAGE are required"},
		{name: "no --base", args: []string{"debian-13-containerd", "-d", "out/"},
			err: "build: --dest OUTDIR and --base IMAGE are required"},
		{name: "bad mode", args: []string{"debian-13-containerd", "-d", "out/", "--base", "b.qcow2", "--mode", "docker"},
			err: `build: --mode must be chroot or vm, got "docker"`},
		{name: "bad compression", args: []string{"debian-13-containerd", "-d", "out/", "--base", "b.qcow2", "--compression", "lz4"},
			err: `build: --compression: "lz4" must be one of zlib, zstd, none`},
		{name: "zstd vmdk", args: []string{"debian-13-containerd", "-d", "out/", "--base", "b.qcow2", "--format", "vmdk", "--compression", "zstd"},
			err: "build: --compression zstd with --format vmdk: zstd is for qcow2 only: format vmdk is a streamOptimized VMDK, which compresses its grains with deflate by itself"},
		{name: "zstd raw", args: []string{"debian-13-containerd", "-d", "out/", "--base", "b.qcow2", "--format", "raw", "--compression", "zstd"},
			err: "build: --compression zstd with --format raw: zstd is for qcow2 only: format raw is not compressed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stdout, _, err := execute(tc.args...)
			require.Error(t, err)
			assert.True(t, cli.IsUsage(err), "a usage error: %v", err)
			assert.EqualError(t, err, tc.err)
			assert.Empty(t, stdout)
		})
	}
}
