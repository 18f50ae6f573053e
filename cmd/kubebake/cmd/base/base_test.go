package base

import (
	"bytes"
	"io"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	cmd, f := newCommand(io.Discard, io.Discard)
	require.NoError(t, cmd.ParseFlags(args))
	return f
}

func TestOptions(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	cases := []struct {
		name string
		args []string
		want base.Options
	}{
		{
			name: "defaults",
			args: []string{"-o", "out/debian-13.qcow2"},
			want: base.Options{Distro: "debian-13", Output: "out/debian-13.qcow2", Mirror: base.DefaultMirror,
				SecurityMirror: base.DefaultSecurityMirror, CacheDir: base.DefaultCacheDir, DiskSize: base.DefaultDiskSize,
				ESPSize: base.DefaultESPSize, Hostname: base.DefaultHostname, Log: &stderr, Runner: sys.Exec{}},
		},
		{
			name: "every flag",
			args: []string{"--output", "x.qcow2", "--mirror", "http://mirror.internal/debian", "--security-mirror", "",
				"--no-updates", "--cache-dir", "/var/cache/kb", "--refresh-cache", "--work-dir", "/var/tmp", "--keep-work-dir",
				"--size", "8G", "--esp-size", "128M", "--package", "vim-tiny,less", "--package", "curl",
				"--kernel-arg", "quiet", "--kernel-arg", "net.ifnames=0", "--hostname", "node", "-v"},
			want: base.Options{Distro: "debian-13", Output: "x.qcow2", Mirror: "http://mirror.internal/debian",
				NoUpdates: true, CacheDir: "/var/cache/kb", RefreshCache: true, WorkDir: "/var/tmp", KeepWorkDir: true,
				DiskSize: 8 << 30, ESPSize: 128 << 20, Packages: []string{"vim-tiny", "less", "curl"},
				KernelArgs: []string{"quiet", "net.ifnames=0"}, Hostname: "node", Log: &stderr, Runner: sys.Exec{Stream: &stderr}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := parse(t, tc.args...)
			assert.Equal(t, tc.want, f.options("debian-13", &stderr))
		})
	}
}

// execute runs the command as the kubebake root sets up its subcommands.
func execute(args ...string) error {
	var out, errb bytes.Buffer
	cmd := NewCommand(&out, &errb)
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
		{name: "no distro", args: []string{"-o", "x.qcow2"}, err: "base: accepts 1 arg(s), received 0 (see --help)"},
		{name: "two distros", args: []string{"debian-13", "debian-12", "-o", "x.qcow2"}, err: "base: accepts 1 arg(s), received 2 (see --help)"},
		{name: "no output", args: []string{"debian-13"}, err: "base: -o OUT.qcow2 is required"},
		{name: "unknown distro", args: []string{"debian-11", "-o", "x.qcow2"}, err: `base: unknown distro "debian-11" (want debian-12 or debian-13)`},
		{name: "bad size", args: []string{"debian-13", "-o", "x.qcow2", "--size", "4X"},
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
