package base

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIncludes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		distro  string
		extra   []string
		has     []string
		hasNot  []string
		virtual []string
	}{
		{name: "debian-13 builds the UKI with ukify", distro: "debian-13",
			has: []string{"systemd-ukify", "systemd-boot-efi", "linux-image-cloud-amd64", "cloud-init", "python3-cffi-backend", "zstd"}, hasNot: []string{"binutils"}},
		{name: "debian-12 builds the UKI with objcopy", distro: "debian-12",
			has: []string{"binutils", "systemd-boot-efi", "openssh-server"}, hasNot: []string{"systemd-ukify"}},
		{name: "extra packages, duplicates dropped", distro: "debian-13", extra: []string{"vim-tiny", "zstd", "vim-tiny"},
			has: []string{"vim-tiny", "zstd"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := lookupDistro(tc.distro)
			require.NoError(t, err)
			got := d.includes(tc.extra)
			assert.IsIncreasing(t, got, "sorted, without duplicates")
			for _, p := range tc.has {
				assert.Contains(t, got, p)
			}
			for _, p := range tc.hasNot {
				assert.NotContains(t, got, p)
			}
		})
	}
}

func TestLookupDistro(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []string{"debian-12", "debian-13"}, Distros())
	d, err := lookupDistro("debian-13")
	require.NoError(t, err)
	assert.Equal(t, "trixie", d.suite)
	_, err = lookupDistro("ubuntu-24.04")
	require.ErrorIs(t, err, ErrUnknownDistro)
	assert.EqualError(t, err, `unknown distro "ubuntu-24.04" (want debian-12 or debian-13)`)
}

func TestDebootstrapArgs(t *testing.T) {
	t.Parallel()
	b := bootstrap{suite: "trixie", mirror: "http://mirror.example/debian", includes: []string{"a", "b"},
		tarball: "/cache/x.tgz", target: "/work/rootfs"}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{name: "download", args: b.downloadArgs(), want: []string{
			"--variant=minbase", "--arch=amd64", "--components=main", "--include=a,b",
			"--make-tarball=/cache/x.tgz", "trixie", "/work/rootfs", "http://mirror.example/debian"}},
		{name: "install", args: b.installArgs(), want: []string{
			"--variant=minbase", "--arch=amd64", "--components=main", "--include=a,b",
			"--unpack-tarball=/cache/x.tgz", "trixie", "/work/rootfs", "http://mirror.example/debian"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.args)
		})
	}
}

func TestTarballName(t *testing.T) {
	t.Parallel()
	d13, d12 := distros["debian-13"], distros["debian-12"]
	inc := d13.includes(nil)
	base := tarballName(d13, DefaultMirror, inc)
	assert.Regexp(t, `^debian-13-trixie-[0-9a-f]{12}\.tgz$`, base)
	cases := []struct {
		name string
		got  string
		same bool
	}{
		{name: "same inputs", got: tarballName(d13, DefaultMirror, inc), same: true},
		{name: "trailing slash on the mirror", got: tarballName(d13, DefaultMirror+"/", inc), same: true},
		{name: "another mirror", got: tarballName(d13, "http://mirror.internal/debian", inc)},
		{name: "another package set", got: tarballName(d13, DefaultMirror, d13.includes([]string{"vim-tiny"}))},
		{name: "another distro", got: tarballName(d12, DefaultMirror, inc)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.same, tc.got == base, "%s vs %s", tc.got, base)
		})
	}
}

func TestTarballTemp(t *testing.T) {
	t.Parallel()
	got := tarballTemp("/cache/base/debian-13-trixie-0123456789ab.tgz", 42)
	assert.Equal(t, "/cache/base/.debian-13-trixie-0123456789ab.42.partial.tgz", got)
	assert.True(t, strings.HasSuffix(got, ".tgz"), "debootstrap wants a .tgz name")
}
