package seed_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/cmd/kubebake/cmd/seed"
	"github.com/kubebake/kubebake/internal/cli"
)

const (
	userData      = "#cloud-config\nhostname: node-1\n"
	metaData      = "instance-id: iid-from-file\nlocal-hostname: node-2\n"
	networkConfig = "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n"
	vendorData    = "#cloud-config\npackage_update: false\n"
)

// execute runs the seed command set up as the kubebake root sets up its
// subcommands: output streams, flag errors as usage errors, and nothing
// printed by cobra itself.
func execute(args ...string) (stdout string, err error) {
	stdout, _, err = executeLogged(slog.LevelInfo, args...)
	return stdout, err
}

// executeLogged is execute with the logger at level; it returns stderr too.
func executeLogged(level slog.Level, args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	cmd := seed.NewCommand(&out, cli.NewLogger(&errb, level))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cli.Usage(err) })
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errb.String(), err
}

func TestSeedErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ud := filepath.Join(dir, "user-data")
	md := filepath.Join(dir, "meta-data")
	require.NoError(t, os.WriteFile(ud, []byte(userData), 0o644))
	require.NoError(t, os.WriteFile(md, []byte(metaData), 0o644))
	out := filepath.Join(dir, "seed.iso")
	missing := filepath.Join(dir, "nope.yaml")
	cases := []struct {
		name  string
		args  []string
		usage bool
		err   string
	}{
		{name: "no --user-data", args: []string{"-d", out}, usage: true,
			err: "seed: --user-data FILE is required"},
		{name: "no --dest", args: []string{"--user-data", ud}, usage: true,
			err: "seed: --dest SEED.iso is required"},
		{name: "the old -o SEED.iso", args: []string{"--user-data", ud, "-o", out}, usage: true,
			err: `-o "` + out + `": unknown output format (want text, json or yaml); the output path is --dest`},
		{name: "unknown output format", args: []string{"--user-data", ud, "-d", out, "-o", "xml"}, usage: true,
			err: `-o "xml": unknown output format (want text, json or yaml); the output path is --dest`},
		{name: "--meta-data with --hostname", args: []string{"--user-data", ud, "--meta-data", md, "--hostname", "h", "-d", out}, usage: true,
			err: "seed: --meta-data cannot be combined with --instance-id or --hostname"},
		{name: "a positional argument", args: []string{"--user-data", ud, "-d", out, "extra"}, usage: true,
			err: `unknown command "extra"`},
		{name: "unknown flag", args: []string{"--user-date", ud, "-d", out}, usage: true,
			err: "unknown flag: --user-date"},
		{name: "missing user-data file", args: []string{"--user-data", missing, "-d", out},
			err: "--user-data: open " + missing + ": no such file or directory"},
		{name: "missing network-config file", args: []string{"--user-data", ud, "--network-config", missing, "-d", out},
			err: "--network-config: open " + missing + ": no such file or directory"},
		{name: "user-data is a directory", args: []string{"--user-data", dir, "-d", out},
			err: "--user-data: read " + dir + ": is a directory"},
		{name: "output directory does not exist", args: []string{"--user-data", ud, "-d", filepath.Join(dir, "no", "seed.iso")},
			err: "write seed " + filepath.Join(dir, "no", "seed.iso") + ": open " + filepath.Join(dir, "no") + "/.seed.iso."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stdout, err := execute(tc.args...)
			require.Error(t, err)
			t.Logf("error: %v", err)
			assert.Equal(t, tc.usage, cli.IsUsage(err), "usage error")
			assert.Contains(t, err.Error(), tc.err)
			assert.Empty(t, stdout)
			assert.NoFileExists(t, out)
		})
	}
}

func TestSeed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	inputs := map[string]string{"user-data": userData, "meta-data": metaData, "network-config": networkConfig, "vendor-data": vendorData}
	for name, data := range inputs {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
	in := func(name string) string { return filepath.Join(dir, name) }
	cases := []struct {
		name string
		args []string
		want map[string]string
	}{
		{
			name: "generated meta-data",
			args: []string{"--user-data", in("user-data"), "--instance-id", "iid-node-1", "--hostname", "node-1"},
			want: map[string]string{"user-data": userData, "meta-data": "instance-id: iid-node-1\nlocal-hostname: node-1\n"},
		},
		{
			name: "every file given",
			args: []string{"--user-data", in("user-data"), "--meta-data", in("meta-data"),
				"--network-config", in("network-config"), "--vendor-data", in("vendor-data")},
			want: inputs,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			iso := filepath.Join(t.TempDir(), "seed.iso")
			stdout, err := execute(append(tc.args, "--dest", iso)...)
			require.NoError(t, err)
			fi, err := os.Stat(iso)
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("wrote NoCloud seed %s (%d bytes)\n", iso, fi.Size()), stdout)

			label, files := readISO(t, iso)
			assert.Equal(t, "cidata", label)
			assert.Equal(t, tc.want, files)
		})
	}
}

func TestSeedGeneratesInstanceID(t *testing.T) {
	t.Parallel()
	ud := filepath.Join(t.TempDir(), "user-data")
	require.NoError(t, os.WriteFile(ud, []byte(userData), 0o644))
	iso := filepath.Join(t.TempDir(), "seed.iso")
	_, err := execute("--user-data", ud, "-d", iso)
	require.NoError(t, err)
	_, files := readISO(t, iso)
	assert.Regexp(t, `^instance-id: iid-[a-z2-7]{26}\n$`, files["meta-data"])
}

// TestSeedOutput: -o json and -o yaml print one document with the ISO's
// path, size and files; -v logs what went in on stderr, never on stdout.
func TestSeedOutput(t *testing.T) {
	t.Parallel()
	ud := filepath.Join(t.TempDir(), "user-data")
	require.NoError(t, os.WriteFile(ud, []byte(userData), 0o644))
	cases := []struct {
		name      string
		format    string
		level     slog.Level
		decode    func([]byte, any) error
		debugLogs bool
	}{
		{name: "json", format: "json", level: slog.LevelInfo, decode: json.Unmarshal},
		{name: "yaml", format: "yaml", level: slog.LevelInfo, decode: func(b []byte, v any) error { return yaml.UnmarshalStrict(b, v) }},
		{name: "json, -v", format: "json", level: slog.LevelDebug, decode: json.Unmarshal, debugLogs: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			iso := filepath.Join(t.TempDir(), "seed.iso")
			stdout, stderr, err := executeLogged(tc.level, "--user-data", ud, "--hostname", "node-1", "-d", iso, "-o", tc.format)
			require.NoError(t, err)
			fi, err := os.Stat(iso)
			require.NoError(t, err)
			var res seed.Result
			require.NoError(t, tc.decode([]byte(stdout), &res), stdout)
			assert.Equal(t, seed.Result{Seed: iso, Size: fi.Size(), Files: []string{"meta-data", "user-data"}}, res)
			if tc.debugLogs {
				assert.Contains(t, stderr, "kubebake: debug: read file="+ud+" as=user-data bytes=")
				assert.Contains(t, stderr, `kubebake: debug: generated meta-data content="instance-id: iid-`)
			} else {
				assert.Empty(t, stderr)
			}
		})
	}
}

func TestSeedHelp(t *testing.T) {
	t.Parallel()
	stdout, err := execute("--help")
	require.NoError(t, err)
	for _, s := range []string{"Examples:", "kubebake seed --user-data user-data.yaml --hostname node-1 --dest seed.iso",
		"--network-config", "--vendor-data", "--instance-id", "-d, --dest", "-o, --output string", "output format: text, json or yaml (default \"text\")"} {
		assert.Contains(t, stdout, s)
	}
}

// readISO reads a seed back with go-diskfs: its volume label and every file.
func readISO(t *testing.T, path string) (label string, files map[string]string) {
	t.Helper()
	d, err := diskfs.Open(path)
	require.NoError(t, err)
	defer d.Close()
	fs, err := d.GetFilesystem(0)
	require.NoError(t, err)
	entries, err := fs.ReadDir(".")
	require.NoError(t, err)
	files = map[string]string{}
	for _, e := range entries {
		b, err := fs.ReadFile(e.Name())
		require.NoError(t, err)
		files[e.Name()] = string(b)
	}
	return strings.TrimRight(fs.Label(), " \x00"), files
}
