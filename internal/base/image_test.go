package base

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/sys"
)

const testKernel = "6.12.107+deb13-cloud-amd64"

// fakeRunner plays the host commands of a build: it records each command
// and does just enough of what the real one does (a tarball, a root file
// system tree, a UKI, an image) for the build to go on. A command whose
// string contains fail fails with failOutput.
type fakeRunner struct {
	t          *testing.T
	fail       string
	failOutput string
	// keepMounts makes umount leave the mounts in place.
	keepMounts bool

	calls []string
	// mounts are the mount points the fake debootstrap leaves behind when
	// it fails (as a killed one does).
	mounts []string
	// tree is what the root file system held when mkfs.ext4 ran.
	tree map[string]string
}

func (f *fakeRunner) Run(_ context.Context, c sys.Cmd) ([]byte, error) {
	f.calls = append(f.calls, c.String())
	fail := f.fail != "" && strings.Contains(c.String(), f.fail)
	out, err := f.play(c, fail)
	if err != nil {
		f.t.Errorf("fake %s: %v", c.Name, err)
	}
	if fail {
		out = append(out, f.failOutput...)
		return out, &sys.RunError{Command: c.String(), Output: out, Inner: errors.New("exit status 1")}
	}
	return out, nil
}

// play does what the command c would do to the files.
func (f *fakeRunner) play(c sys.Cmd, fail bool) ([]byte, error) {
	args := c.Args
	switch c.Name {
	case "debootstrap":
		target := args[len(args)-2]
		if err := os.MkdirAll(filepath.Join(target, "debootstrap"), 0o755); err != nil {
			return nil, err
		}
		if fail {
			f.mounts = append(f.mounts, filepath.Join(target, "proc"))
			return nil, os.WriteFile(filepath.Join(target, "debootstrap", "debootstrap.log"),
				[]byte("dpkg: error processing package systemd (--configure):\n installed systemd package post-installation script subprocess returned error exit status 1\n"), 0o644)
		}
		for _, a := range args {
			if tarball, ok := strings.CutPrefix(a, "--make-tarball="); ok {
				if !strings.HasSuffix(tarball, ".tgz") || !filepath.IsAbs(tarball) {
					return nil, fmt.Errorf("tarball %q: want an absolute .tgz path", tarball)
				}
				if err := os.WriteFile(tarball, []byte("packages"), 0o644); err != nil {
					return nil, err
				}
				return []byte("I: Retrieving systemd\n"), os.RemoveAll(target)
			}
			if tarball, ok := strings.CutPrefix(a, "--unpack-tarball="); ok {
				if _, err := os.Stat(tarball); err != nil {
					return nil, err
				}
			}
		}
		if err := os.RemoveAll(filepath.Join(target, "debootstrap")); err != nil {
			return nil, err
		}
		return []byte("I: Base system installed successfully.\n"), writeTree(target, debootstrapped)
	case "chroot":
		root := args[0]
		if len(args) > 1 && args[1] == "update-initramfs" && !fail {
			if !slices.Contains(c.Env, "KUBEBAKE_UKI_OUTPUT="+ukiBuildOutput) {
				return nil, fmt.Errorf("update-initramfs without KUBEBAKE_UKI_OUTPUT: %v", c.Env)
			}
			uki := filepath.Join(root, ukiBuildOutput)
			if err := os.MkdirAll(filepath.Dir(uki), 0o1777); err != nil {
				return nil, err
			}
			return nil, os.WriteFile(uki, []byte("MZ unified kernel image"), 0o644)
		}
	case "mkfs.ext4":
		tree, err := readTree(args[slices.Index(args, "-d")+1])
		if err != nil {
			return nil, err
		}
		f.tree = tree
		if !fail {
			img, err := os.OpenFile(args[len(args)-1], os.O_WRONLY, 0)
			if err != nil {
				return nil, err
			}
			defer img.Close()
			_, err = img.WriteAt([]byte("ext4 superblock"), 1024)
			return nil, err
		}
	case "qemu-img":
		if !fail {
			return nil, os.WriteFile(args[len(args)-1], []byte("QFI\xfbcompressed"), 0o600)
		}
		// A failing qemu-img leaves a half-written file.
		return nil, os.WriteFile(args[len(args)-1], []byte("QFI\xfbhalf"), 0o600)
	case "umount":
		if !f.keepMounts {
			f.mounts = slices.DeleteFunc(f.mounts, func(m string) bool { return m == args[len(args)-1] })
		}
	}
	return nil, nil
}

// mountinfo is /proc/self/mountinfo with the fake's mounts.
func (f *fakeRunner) mountinfo() (string, error) {
	var b strings.Builder
	b.WriteString("22 1 0:21 / / rw - overlay overlay rw\n")
	for i, m := range f.mounts {
		fmt.Fprintf(&b, "%d 22 0:5 / %s rw - proc proc rw\n", 300+i, m)
	}
	return b.String(), nil
}

// debootstrapped is what the fake debootstrap leaves in its target: files a
// real one leaves that the build must change or remove.
var debootstrapped = map[string]string{
	"/boot/vmlinuz-" + testKernel:             "kernel",
	"/boot/initrd.img-" + testKernel:          "initrd",
	"/boot/config-" + testKernel:              "config",
	"/etc/debian_version":                     "13.7\n",
	"/etc/shadow":                             "root:$y$j9T$salt$hash:20779:0:99999:7:::\ndaemon:*:20779:0:99999:7:::\n",
	"/etc/hostname":                           "build-host\n",
	"/etc/machine-id":                         "0123456789abcdef0123456789abcdef\n",
	"/var/lib/dbus/machine-id":                "0123456789abcdef0123456789abcdef\n",
	"/etc/resolv.conf":                        "nameserver 10.0.0.1\n",
	"/etc/apt/sources.list":                   "deb http://deb.debian.org/debian trixie main\n",
	"/etc/ssh/ssh_host_ed25519_key":           "secret",
	"/etc/ssh/ssh_host_ed25519_key.pub":       "public",
	"/etc/ssh/sshd_config":                    "Include /etc/ssh/sshd_config.d/*.conf\n",
	"/var/cache/apt/archives/systemd_257.deb": "deb",
	"/var/cache/apt/pkgcache.bin":             "cache",
	"/var/lib/apt/lists/deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages": "Package: systemd\n",
	"/var/lib/apt/lists/lock": "",
	"/var/log/bootstrap.log":  "log",
	"/var/log/dpkg.log":       "log",
}

// writeTree writes files (absolute paths inside root) under root.
func writeTree(root string, files map[string]string) error {
	for p, data := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// readTree maps the files and symlinks under root (as absolute paths inside
// it) to their contents ("-> target" for a symlink); directories map to "/".
func readTree(root string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := "/" + strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		switch {
		case e.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[rel] = "-> " + target
			return err
		case e.IsDir():
			out[rel] = "/"
		default:
			b, err := os.ReadFile(p)
			out[rel] = string(b)
			return err
		}
		return nil
	})
	return out, err
}

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
	tmpOut := regexp.MustCompile(`\.debian-13\.qcow2\.\d+\.tmp`)
	var out []string
	for _, c := range tb.runner.calls {
		c = workDir.ReplaceAllString(c, "WORK")
		c = strings.ReplaceAll(c, tb.cache, "CACHE")
		c = strings.ReplaceAll(c, tb.outDir, "OUT")
		out = append(out, tmpOut.ReplaceAllString(c, ".debian-13.qcow2.TMP.tmp"))
	}
	return out
}

// tarballArg is the --include value the fake calls show for debian-13.
func includeArg() string {
	return "--include=" + strings.Join(distros["debian-13"].includes(nil), ",")
}

// dirEntries lists dir's names.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
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
	assert.ElementsMatch(t, []string{"debian-13.qcow2", "debian-13.json"}, dirEntries(t, tb.outDir))
	img, err := os.ReadFile(tb.opts.Output)
	require.NoError(t, err)
	assert.Equal(t, "QFI\xfbcompressed", string(img))
	fi, err := os.Stat(tb.opts.Output)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	assert.Empty(t, dirEntries(t, tb.work))
	assert.Len(t, dirEntries(t, tb.cache), 1, "the tarball, no partial one")

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

// TestBuildFailure fails each command in turn: the build stops there with an
// error naming the stage, the command and its output, leaves the previous
// image in place and no temporary file, and removes its work directory.
func TestBuildFailure(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		fail     string
		stage    string
		ncalls   int
		extra    string // more the error must say
		unmounts bool
	}{
		{name: "download", fail: "--make-tarball", stage: "download", ncalls: 1,
			extra: "debootstrap.log (end):\ndpkg: error processing package systemd", unmounts: true},
		{name: "install", fail: "--unpack-tarball", stage: "debootstrap", ncalls: 2,
			extra: "installed systemd package post-installation script subprocess returned error exit status 1", unmounts: true},
		{name: "enable networkd", fail: "systemctl enable", stage: "configure", ncalls: 3},
		{name: "initramfs and UKI", fail: "update-initramfs", stage: "uki", ncalls: 4},
		{name: "mkfs", fail: "mkfs.ext4", stage: "mkfs", ncalls: 5},
		{name: "qemu-img", fail: "qemu-img convert", stage: "convert", ncalls: 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := newTestBuild(t)
			tb.runner.fail = tc.fail
			tb.runner.failOutput = "E: something " + tc.name + " said\n"
			require.NoError(t, os.WriteFile(tb.opts.Output, []byte("previous image"), 0o644))

			m, err := tb.b.build(context.Background(), tb.opts)
			require.Error(t, err)
			assert.Nil(t, m)
			calls := tb.calls()
			require.Len(t, calls, tc.ncalls+btoi(tc.unmounts), "the build stops at the failure: %q", calls)
			failed := tb.runner.calls[tc.ncalls-1]
			msg := err.Error()
			assert.True(t, strings.HasPrefix(msg, tc.stage+": command failed: "+failed+": exit status 1\noutput:\n"), msg)
			assert.Contains(t, msg, "E: something "+tc.name+" said")
			assert.Contains(t, msg, tc.extra)
			var re *sys.RunError
			assert.ErrorAs(t, err, &re)

			prev, err := os.ReadFile(tb.opts.Output)
			require.NoError(t, err)
			assert.Equal(t, "previous image", string(prev), "the previous image is kept")
			assert.Equal(t, []string{"debian-13.qcow2"}, dirEntries(t, tb.outDir), "no sidecar, no temporary file")
			assert.Empty(t, dirEntries(t, tb.work), "work directory removed")
			if tc.unmounts {
				assert.Equal(t, "umount --lazy WORK/"+map[bool]string{true: "download", false: "rootfs"}[tc.stage == "download"]+"/proc",
					calls[len(calls)-1])
			}
			if tc.stage == "download" {
				assert.Empty(t, dirEntries(t, tb.cache), "no partial tarball")
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestBuildLeavesMountedWorkDir checks that a mount umount cannot remove
// keeps the work directory from being removed.
func TestBuildLeavesMountedWorkDir(t *testing.T) {
	t.Parallel()
	tb := newTestBuild(t)
	tb.runner.fail = "--unpack-tarball"
	tb.runner.keepMounts = true
	_, err := tb.b.build(context.Background(), tb.opts)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrStillMounted)
	assert.Regexp(t, `cleanup: still mounted in .*/kubebake-base-\d+: .*/rootfs/proc; left .* in place`, err.Error())
	assert.Len(t, dirEntries(t, tb.work), 1, "work directory kept")
}

func TestBuildKeepWorkDir(t *testing.T) {
	t.Parallel()
	tb := newTestBuild(t)
	tb.opts.KeepWorkDir = true
	_, err := tb.b.build(context.Background(), tb.opts)
	require.NoError(t, err)
	assert.Len(t, dirEntries(t, tb.work), 1)
	assert.Contains(t, tb.log.String(), "base: kept work directory ")
}

func TestBuildPreconditions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(tb *testBuild)
		is     error
		err    string
	}{
		{name: "not root", change: func(tb *testBuild) { tb.b.euid = func() int { return 1000 } }, is: ErrNotRoot,
			err: "building a base image needs root (debootstrap, chroot, and mkfs.ext4 -d to keep file owners); run it as root, e.g. with sudo"},
		{name: "missing tools", change: func(tb *testBuild) {
			tb.b.lookPath = func(name string) (string, error) {
				if name == "debootstrap" || name == "qemu-img" {
					return "", errors.New("not found")
				}
				return "/usr/bin/" + name, nil
			}
		}, is: ErrMissingTools,
			err: "missing host tools: debootstrap (apt-get install debootstrap), qemu-img (apt-get install qemu-utils)"},
		{name: "no output directory", change: func(tb *testBuild) { tb.opts.Output = filepath.Join(tb.outDir, "nope", "x.qcow2") },
			err: "output directory " + "OUTDIR/nope: does not exist"},
		{name: "every invalid option at once", change: func(tb *testBuild) {
			tb.opts.Distro = "debian-11"
			tb.opts.Output = ""
			tb.opts.Mirror = "deb.debian.org/debian"
			tb.opts.SecurityMirror = "ftp://x/debian-security"
			tb.opts.DiskSize = 512 * mib
			tb.opts.RootUUID = "not-a-uuid"
			tb.opts.Hostname = "Node_1"
			tb.opts.Packages = []string{"vim", "bad package"}
			tb.opts.KernelArgs = []string{"quiet", "a b"}
		}, is: ErrUnknownDistro, err: `unknown distro "debian-11" (want debian-12 or debian-13)
output: no image path given
mirror "deb.debian.org/debian": want an http, https or file URL
security mirror "ftp://x/debian-security": want an http, https or file URL
disk too small: 512 MiB leaves 446 MiB for root after the 64 MiB ESP (want at least 1024 MiB)
root UUID "not-a-uuid": want a lower-case UUID
hostname "Node_1": want a lower-case host name label
package "bad package": not a Debian package name
kernel argument "a b": want one word`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := newTestBuild(t)
			tc.change(tb)
			_, err := tb.b.build(context.Background(), tb.opts)
			require.Error(t, err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.Equal(t, tc.err, strings.ReplaceAll(err.Error(), tb.outDir, "OUTDIR"))
			assert.Empty(t, tb.runner.calls, "nothing run")
			assert.Empty(t, dirEntries(t, tb.work), "no work directory")
		})
	}
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
