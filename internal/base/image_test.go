package base

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/testutil"
)

// testBuild is a build with the fake runner and its inputs.
type testBuild struct {
	runner *fakeRunner
	b      *builder
	opts   Options
	log    *bytes.Buffer
	outDir string
	cache  string
	work   string
}

func newTestBuild(t *testing.T) *testBuild {
	t.Helper()
	dir := t.TempDir()
	tb := &testBuild{
		runner: &fakeRunner{t: t},
		log:    &bytes.Buffer{},
		outDir: filepath.Join(dir, "out"),
		cache:  filepath.Join(dir, "cache"),
		work:   filepath.Join(dir, "work"),
	}
	for _, d := range []string{tb.outDir, tb.work} {
		require.NoError(t, os.Mkdir(d, 0o755))
	}
	clock := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	tb.b = &builder{
		run:       tb.runner,
		log:       tb.log,
		euid:      func() int { return 0 },
		lookPath:  func(name string) (string, error) { return "/usr/bin/" + name, nil },
		mountinfo: tb.runner.mountinfo,
		now:       func() time.Time { clock = clock.Add(time.Second); return clock },
		pid:       42,
	}
	tb.opts = Options{
		Distro:         "debian-13",
		Output:         filepath.Join(tb.outDir, "debian-13.qcow2"),
		SecurityMirror: DefaultSecurityMirror,
		CacheDir:       tb.cache,
		WorkDir:        tb.work,
		DiskSize:       1200 * mib,
		ESPSize:        64 * mib,
		RootUUID:       testRootUUID,
	}
	return tb
}

// calls are the recorded commands with the temporary paths replaced by
// WORK, CACHE and OUT.
func (tb *testBuild) calls() []string {
	workDir := regexp.MustCompile(regexp.QuoteMeta(tb.work) + `/kubebake-base-\d+`)
	tmpOut := regexp.MustCompile(`\.debian-13\.qcow2\.tmp-\d+-\d+`)
	var out []string
	for _, c := range tb.runner.calls {
		c = workDir.ReplaceAllString(c, "WORK")
		c = strings.ReplaceAll(c, tb.cache, "CACHE")
		c = strings.ReplaceAll(c, tb.outDir, "OUT")
		out = append(out, tmpOut.ReplaceAllString(c, ".debian-13.qcow2.TMP.tmp"))
	}
	return out
}

// includeArg is the --include value the fake calls show for debian-13.
func includeArg() string {
	return "--include=" + strings.Join(distros["debian-13"].includes(nil), ",")
}

// wantCalls are a cold debian-13 build's commands.
func wantCalls(cached bool) []string {
	tarball := "CACHE/" + tarballName(distros["debian-13"], DefaultMirror, distros["debian-13"].includes(nil))
	var calls []string
	if !cached {
		calls = append(calls, "debootstrap --variant=minbase --arch=amd64 --components=main "+includeArg()+
			" --make-tarball="+tarballTemp(tarball, 42)+" trixie WORK/download "+DefaultMirror)
	}
	return append(calls,
		"debootstrap --variant=minbase --arch=amd64 --components=main "+includeArg()+
			" --unpack-tarball="+tarball+" trixie WORK/rootfs "+DefaultMirror,
		"chroot WORK/rootfs systemctl enable systemd-networkd.service",
		"KUBEBAKE_UKI_OUTPUT=/var/tmp/kubebake-uki.efi chroot WORK/rootfs update-initramfs -u -k "+testKernel,
		"mkfs.ext4 -q -F -d WORK/rootfs -U "+testRootUUID+" -L root WORK/root.ext4",
		"qemu-img convert -f raw -O qcow2 -c WORK/disk.raw OUT/.debian-13.qcow2.TMP.tmp",
	)
}

func TestBuild(t *testing.T) {
	t.Parallel()
	tb := newTestBuild(t)
	m, err := tb.b.build(context.Background(), tb.opts)
	require.NoError(t, err, tb.log.String())

	assert.Equal(t, wantCalls(false), tb.calls())

	// The tree mkfs.ext4 got: configured, and cleaned.
	tree := tb.runner.tree
	for _, gone := range []string{"/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_ed25519_key.pub", "/var/lib/dbus/machine-id",
		"/etc/apt/sources.list", "/var/cache/apt/archives/systemd_257.deb", "/var/cache/apt/pkgcache.bin",
		"/var/lib/apt/lists/deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages", "/var/log/bootstrap.log",
		ukiBuildOutput} {
		assert.NotContains(t, tree, gone)
	}
	for _, kept := range []string{"/etc/ssh/sshd_config", "/var/lib/apt/lists/lock", "/var/log/dpkg.log", "/boot/vmlinuz-" + testKernel} {
		assert.Contains(t, tree, kept)
	}
	// The files written are those of the golden test, with this build's
	// ESP partition GUID.
	for _, f := range testConfig(t, "debian-13").files() {
		assert.Equal(t, f.data, strings.ReplaceAll(tree[f.path], m.ESP.PartUUID, testESPUUID), f.path)
	}
	assert.Contains(t, tree["/etc/fstab"], "PARTUUID="+m.ESP.PartUUID+" /boot/efi ")
	assert.Equal(t, "", tree["/etc/machine-id"])
	assert.Equal(t, "localhost\n", tree["/etc/hostname"])
	assert.Equal(t, "-> ../run/systemd/resolve/stub-resolv.conf", tree["/etc/resolv.conf"])
	assert.Equal(t, "root:*:20779:0:99999:7:::\ndaemon:*:20779:0:99999:7:::\n", tree["/etc/shadow"])
	assert.Equal(t, "/", tree["/boot/efi"])

	// The image, its manifest, nothing else; the work directory is gone.
	assert.ElementsMatch(t, []string{"debian-13.qcow2", "debian-13.json"}, testutil.DirNames(t, tb.outDir))
	img, err := os.ReadFile(tb.opts.Output)
	require.NoError(t, err)
	assert.Equal(t, "QFI\xfbcompressed", string(img))
	fi, err := os.Stat(tb.opts.Output)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	assert.Empty(t, testutil.DirNames(t, tb.work))
	assert.Len(t, testutil.DirNames(t, tb.cache), 1, "the tarball, no partial one")

	read, err := ReadManifest(filepath.Join(tb.outDir, "debian-13.json"))
	require.NoError(t, err)
	assert.Equal(t, m, read)
	assert.Equal(t, "debian-13", m.Distro)
	assert.Equal(t, "trixie", m.Release)
	assert.Equal(t, "13.7", m.DebianVersion)
	assert.Equal(t, testKernel, m.Kernel)
	assert.Equal(t, kernelCmdline(testRootUUID, nil), m.KernelCmdline)
	assert.Equal(t, int64(1200*mib), m.DiskSize)
	assert.Equal(t, Partition{Number: 2, Name: "root", Type: "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", PartUUID: m.Root.PartUUID,
		Extent: Extent{Start: 65 * mib, Size: 1134 * mib}, Filesystem: "ext4", UUID: testRootUUID, Label: "root", MountPoint: "/"}, m.Root)
	assert.Equal(t, Extent{Start: mib, Size: 64 * mib}, m.ESP.Extent)
	assert.Equal(t, "/boot/efi", m.ESP.MountPoint)
	assert.Equal(t, int64(len("QFI\xfbcompressed")), m.Sizes.QCOW2)
	assert.Equal(t, int64(len("MZ unified kernel image")), m.Sizes.UKI)
	assert.Positive(t, m.Sizes.RawAllocated)
	var names []string
	for _, s := range m.Stages {
		names = append(names, s.Name)
		assert.Positive(t, s.Seconds, s.Name)
		assert.False(t, s.Cached, s.Name)
	}
	assert.Equal(t, []string{"download", "debootstrap", "configure", "uki", "mkfs", "disk", "convert"}, names)

	// The raw disk the image was converted from held the UKI and the root
	// image: checked by TestAssembleDisk. Here: the log names every stage
	// with its time.
	for _, n := range names {
		assert.Regexp(t, `base: `+n+` done in \d`, tb.log.String())
	}

	// The manifest on disk is indented JSON.
	b, err := os.ReadFile(filepath.Join(tb.outDir, "debian-13.json"))
	require.NoError(t, err)
	assert.True(t, json.Valid(b))
	assert.Contains(t, string(b), "\n  \"root\": {")
}

func TestBuildUsesCache(t *testing.T) {
	t.Parallel()
	tb := newTestBuild(t)
	_, err := tb.b.build(context.Background(), tb.opts)
	require.NoError(t, err)
	tb.runner.calls = nil
	tb.b.stages = nil
	tb.log.Reset()

	m, err := tb.b.build(context.Background(), tb.opts)
	require.NoError(t, err)
	assert.Equal(t, wantCalls(true), tb.calls(), "no download")
	assert.Equal(t, Stage{Name: "download", Seconds: 1, Cached: true}, m.Stages[0])
	assert.Contains(t, tb.log.String(), "base: download done in 1s (cached)")

	// RefreshCache downloads again.
	tb.runner.calls = nil
	tb.b.stages = nil
	o := tb.opts
	o.RefreshCache = true
	_, err = tb.b.build(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, wantCalls(false), tb.calls())
}

func TestSidecarPath(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"out/debian-13.qcow2", "out/debian-13.json"},
		{"/images/base.img", "/images/base.img.json"},
		{"debian.qcow2.qcow2", "debian.qcow2.json"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, SidecarPath(tc.in), tc.in)
	}
}
