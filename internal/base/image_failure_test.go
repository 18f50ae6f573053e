package base

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/testutil"
)

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
			assert.Equal(t, []string{"debian-13.qcow2"}, testutil.DirNames(t, tb.outDir), "no sidecar, no temporary file")
			assert.Empty(t, testutil.DirNames(t, tb.work), "work directory removed")
			if tc.unmounts {
				assert.Equal(t, "umount --lazy WORK/"+map[bool]string{true: "download", false: "rootfs"}[tc.stage == "download"]+"/proc",
					calls[len(calls)-1])
			}
			if tc.stage == "download" {
				assert.Empty(t, testutil.DirNames(t, tb.cache), "no partial tarball")
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
	assert.Len(t, testutil.DirNames(t, tb.work), 1, "work directory kept")
}

func TestBuildKeepWorkDir(t *testing.T) {
	t.Parallel()
	tb := newTestBuild(t)
	tb.opts.KeepWorkDir = true
	_, err := tb.b.build(context.Background(), tb.opts)
	require.NoError(t, err)
	assert.Len(t, testutil.DirNames(t, tb.work), 1)
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
			assert.Empty(t, testutil.DirNames(t, tb.work), "no work directory")
		})
	}
}
