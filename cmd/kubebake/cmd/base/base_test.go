package base

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/internal/base"
	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/internal/sys"
)

func TestParseSize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want int64
		err  bool
	}{
		{in: "4G", want: 4 << 30},
		{in: "4GiB", want: 4 << 30},
		{in: "4gb", want: 4 << 30},
		{in: "8192M", want: 8 << 30},
		{in: "256M", want: 256 << 20},
		{in: "1T", want: 1 << 40},
		{in: "512K", want: 512 << 10},
		{in: "1048576", want: 1 << 20},
		{in: " 2G ", want: 2 << 30},
		{in: "", err: true},
		{in: "G", err: true},
		{in: "-1G", err: true},
		{in: "0", err: true},
		{in: "1.5G", err: true},
		{in: "4X", err: true},
		{in: "9999999999T", err: true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseSize(tc.in)
			if tc.err {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "invalid size")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestFormatSize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   int64
		want string
	}{
		{4 << 30, "4G"}, {256 << 20, "256M"}, {1536 << 20, "1536M"}, {1 << 40, "1T"}, {1000, "1000"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, formatSize(tc.in))
	}
}

// parse parses args into a fresh command's flags without running it.
func parse(t *testing.T, args ...string) *flags {
	t.Helper()
	cmd, f := newCommand(io.Discard, io.Discard, cli.NewLogger(io.Discard, slog.LevelInfo))
	require.NoError(t, cmd.ParseFlags(args))
	return f
}

func TestOptions(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	info := cli.NewLogger(&stderr, slog.LevelInfo)
	cases := []struct {
		name string
		args []string
		want base.Options
	}{
		{
			name: "defaults",
			args: []string{"-d", "out/debian-13.qcow2"},
			want: base.Options{Distro: "debian-13", Output: "out/debian-13.qcow2", Mirror: base.DefaultMirror,
				SecurityMirror: base.DefaultSecurityMirror, CacheDir: base.DefaultCacheDir, DiskSize: base.DefaultDiskSize,
				ESPSize: base.DefaultESPSize, Hostname: base.DefaultHostname, Log: &stderr, Runner: cli.Runner(info, &stderr, slog.LevelDebug)},
		},
		{
			name: "every flag",
			args: []string{"--dest", "x.qcow2", "--mirror", "http://mirror.internal/debian", "--security-mirror", "",
				"--no-updates", "--cache-dir", "/var/cache/kb", "--refresh-cache", "--work-dir", "/var/tmp", "--keep-work-dir",
				"--size", "8G", "--esp-size", "128M", "--package", "vim-tiny,less", "--package", "curl",
				"--kernel-arg", "quiet", "--kernel-arg", "net.ifnames=0", "--hostname", "node", "-o", "json"},
			want: base.Options{Distro: "debian-13", Output: "x.qcow2", Mirror: "http://mirror.internal/debian",
				NoUpdates: true, CacheDir: "/var/cache/kb", RefreshCache: true, WorkDir: "/var/tmp", KeepWorkDir: true,
				DiskSize: 8 << 30, ESPSize: 128 << 20, Packages: []string{"vim-tiny", "less", "curl"},
				KernelArgs: []string{"quiet", "net.ifnames=0"}, Hostname: "node", Log: &stderr, Runner: cli.Runner(info, &stderr, slog.LevelDebug)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := parse(t, tc.args...)
			assert.Equal(t, tc.want, f.options("debian-13", info, &stderr))
		})
	}
}

// TestVerboseShowsCommandOutput: base's -v (the root's count at debug
// level) streams debootstrap's, mkfs.ext4's and qemu-img's output to
// stderr, with each command logged; without it nothing but progress.
func TestVerboseShowsCommandOutput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		verbosity int
		want      []string
		wantNot   []string
	}{
		{name: "no -v", verbosity: 0, wantNot: []string{"from-mkfs", "kubebake: debug: "}},
		{name: "-v", verbosity: 1, want: []string{"from-mkfs\n", `kubebake: debug: run cmd="sh -c 'echo from-mkfs'"`, "kubebake: debug: done cmd="}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			log := cli.NewLogger(&stderr, cli.Level(tc.verbosity))
			o := parse(t, "-d", "x.qcow2").options("debian-13", log, &stderr)
			out, err := o.Runner.Run(context.Background(), sys.Command("sh", "-c", "echo from-mkfs"))
			require.NoError(t, err)
			assert.Equal(t, "from-mkfs\n", string(out))
			for _, s := range tc.want {
				assert.Contains(t, stderr.String(), s)
			}
			for _, s := range tc.wantNot {
				assert.NotContains(t, stderr.String(), s)
			}
		})
	}
}

// TestResult: what base reports about the image it wrote, as text, JSON
// and YAML.
func TestResult(t *testing.T) {
	t.Parallel()
	image := filepath.Join(t.TempDir(), "debian-13.qcow2")
	require.NoError(t, os.WriteFile(image, []byte("qcow2"), 0o644))
	m := &base.Manifest{Distro: "debian-13", Release: "trixie", DebianVersion: "13.2", Kernel: "6.12.57+deb13-cloud-amd64",
		Root: base.Partition{UUID: "0b8c1f4e-6d0a-4a8e-9d51-3c2f9f1f6a10"}}
	res, err := newResult(image, m)
	require.NoError(t, err)
	want := Result{Image: image, Manifest: strings.TrimSuffix(image, ".qcow2") + ".json", Size: 5,
		SHA256: sha256Hex("qcow2"), Distro: "debian-13", Release: "trixie",
		DebianVersion: "13.2", Kernel: "6.12.57+deb13-cloud-amd64", RootUUID: "0b8c1f4e-6d0a-4a8e-9d51-3c2f9f1f6a10"}
	assert.Equal(t, want, *res)

	var text, js, yml bytes.Buffer
	require.NoError(t, cli.Print(&text, cli.Text, res, res.text))
	assert.Equal(t, image+": debian-13 trixie (Debian 13.2, kernel 6.12.57+deb13-cloud-amd64), root UUID 0b8c1f4e-6d0a-4a8e-9d51-3c2f9f1f6a10; manifest "+want.Manifest+"\n", text.String())
	require.NoError(t, cli.Print(&js, cli.JSON, res, res.text))
	var fromJSON Result
	require.NoError(t, json.Unmarshal(js.Bytes(), &fromJSON))
	assert.Equal(t, want, fromJSON)
	require.NoError(t, cli.Print(&yml, cli.YAML, res, res.text))
	var fromYAML Result
	require.NoError(t, yaml.UnmarshalStrict(yml.Bytes(), &fromYAML), yml.String())
	assert.Equal(t, want, fromYAML)
}

// sha256Hex is the hex SHA-256 of s.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// execute runs the command as the kubebake root sets up its subcommands.
func execute(args ...string) error {
	var out, errb bytes.Buffer
	cmd := NewCommand(&out, &errb, cli.NewLogger(&errb, slog.LevelInfo))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cli.Usage(err) })
	cmd.SetArgs(args)
	return cmd.Execute()
}

// TestUsageErrors covers the errors found before anything is built.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		err  string
	}{
		{name: "no distro", args: []string{"-d", "x.qcow2"}, err: "base: accepts 1 arg(s), received 0 (see --help)"},
		{name: "two distros", args: []string{"debian-13", "debian-12", "-d", "x.qcow2"}, err: "base: accepts 1 arg(s), received 2 (see --help)"},
		{name: "no dest", args: []string{"debian-13"}, err: "base: --dest OUT.qcow2 is required"},
		{name: "the old -o OUT.qcow2", args: []string{"debian-13", "-o", "x.qcow2"},
			err: `-o "x.qcow2": unknown output format (want text, json or yaml); the output path is --dest`},
		{name: "the old -o without --dest", args: []string{"debian-13", "-o", "out/"},
			err: `-o "out/": unknown output format (want text, json or yaml); the output path is --dest`},
		{name: "no --verbose of its own", args: []string{"debian-13", "-d", "x.qcow2", "-v"}, err: "unknown shorthand flag: 'v' in -v"},
		{name: "unknown distro", args: []string{"debian-11", "-d", "x.qcow2"}, err: `base: unknown distro "debian-11" (want debian-12 or debian-13)`},
		{name: "bad size", args: []string{"debian-13", "-d", "x.qcow2", "--size", "4X"},
			err: `invalid argument "4X" for "--size" flag: invalid size "4X" (want e.g. 4G, 512M or a number of bytes)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := execute(tc.args...)
			require.Error(t, err)
			assert.True(t, cli.IsUsage(err), "a usage error: %v", err)
			assert.EqualError(t, err, tc.err)
		})
	}
}
