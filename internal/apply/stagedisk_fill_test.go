package apply

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/testutil"
	"github.com/kubebake/kubebake/recipes/render"
)

// uploadedTree is what uploading p's stage file by file writes: the tree a
// stage disk must unpack to.
func uploadedTree(t *testing.T, p *render.Plan, in map[string]string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	b := &Bundle{Dir: dir, Stage: "/var/tmp/kubebake"}
	require.NoError(t, stage(context.Background(), b, p, Options{Stage: b.Stage, Inputs: in}))
	return testutil.DirFiles(t, dir)
}

// unpack runs the machine's unpack script with bash and tar against disk
// (a file or a block device) and returns the stage it unpacked.
func unpack(t *testing.T, disk, script string) map[string]string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "stage")
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "KUBEBAKE_STAGE_DISK="+disk, "KUBEBAKE_TEST_STAGE="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return testutil.DirFiles(t, dir)
}

// sparseDisk is a sparse file of size bytes, as the builder attaches.
func sparseDisk(t *testing.T, size int64) string {
	t.Helper()
	disk := filepath.Join(t.TempDir(), "stage.raw")
	f, err := os.Create(disk)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size))
	require.NoError(t, f.Close())
	return disk
}

// TestFillStageDiskTwice: the archive written in place into a disk of a
// fixed size reads back with archive/tar and unpacks with the machine's
// script (bash, tar) to exactly what an upload stages; written again with
// a smaller stage, as a second provisioner does, the disk unpacks to the
// second stage alone. The disk keeps its size throughout.
func TestFillStageDiskTwice(t *testing.T) {
	testutil.Tool(t, "tar")
	const size = 64 << 20
	disk := sparseDisk(t, size)
	script := extractStageScript("/placeholder")
	script = strings.ReplaceAll(script, "/placeholder", `"$KUBEBAKE_TEST_STAGE"`)
	for _, tc := range []struct {
		name   string
		prefix string
	}{
		{"first stage", "a first and longer content for the input " + strings.Repeat("x", 100000) + " "},
		{"second stage, smaller", "second "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, in := stagePlanWith(t, tc.prefix)
			n, err := FillStageDisk(disk, p, in)
			require.NoError(t, err)
			assert.Zero(t, n%512, "the archive is whole blocks")
			info, err := os.Stat(disk)
			require.NoError(t, err)
			assert.EqualValues(t, size, info.Size(), "the disk keeps its size")
			want := uploadedTree(t, p, in)
			require.NotEmpty(t, want)
			assert.Equal(t, want, testutil.TarFiles(t, disk))
			assert.Equal(t, want, unpack(t, disk, script))
			bytes, err := StageBytes(p, in)
			require.NoError(t, err)
			assert.Less(t, bytes, n, "the content, without the archive's headers")
		})
	}
}

// TestFillStageDiskErrors: a disk too small for the stage fails with
// StageTooLargeError and keeps its size; a missing disk is not created; a
// directory is refused.
func TestFillStageDiskErrors(t *testing.T) {
	p, in := stagePlan(t)
	dir := t.TempDir()
	tests := []struct {
		name    string
		disk    string
		wantErr string
		check   func(t *testing.T, err error, disk string)
	}{
		{
			name: "too small", disk: sparseDisk(t, 4096), wantErr: "the stage does not fit the stage disk (4096 bytes)",
			check: func(t *testing.T, err error, disk string) {
				var tooLarge *StageTooLargeError
				require.ErrorAs(t, err, &tooLarge)
				assert.EqualValues(t, 4096, tooLarge.Capacity)
				info, err := os.Stat(disk)
				require.NoError(t, err)
				assert.EqualValues(t, 4096, info.Size())
			},
		},
		{
			name: "missing", disk: filepath.Join(dir, "nope.raw"), wantErr: "no such file or directory",
			check: func(t *testing.T, _ error, disk string) {
				_, err := os.Stat(disk)
				assert.True(t, os.IsNotExist(err), "no disk is created")
			},
		},
		{name: "directory", disk: dir, wantErr: "is a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FillStageDisk(tc.disk, p, in)
			require.ErrorContains(t, err, tc.wantErr)
			assert.Contains(t, err.Error(), "stage disk")
			if tc.check != nil {
				tc.check(t, err, tc.disk)
			}
		})
	}
}

// TestStageBytes: the content's size, and the errors staging would give.
func TestStageBytes(t *testing.T) {
	p, in := stagePlan(t)
	var want int64
	for _, v := range uploadedTree(t, p, in) {
		want += int64(len(v) - len("-rwxr-xr-x ")) // tree prefixes each file with its mode
	}
	n, err := StageBytes(p, in)
	require.NoError(t, err)
	assert.Equal(t, want, n)
	in["kubebake-firstboot"] = t.TempDir()
	_, err = StageBytes(p, in)
	require.ErrorContains(t, err, "input kubebake-firstboot: "+in["kubebake-firstboot"]+" is not a regular file")
	delete(in, "kubebake-firstboot")
	_, err = StageBytes(p, in)
	require.ErrorContains(t, err, "input kubebake-firstboot: no file given for it")
}

// TestStageDiskBlockDeviceRewritten reads the stage disk as a machine
// does, through a block device (a read-only loop device over the file)
// that another process holds open, twice, with the file rewritten between
// the reads as a second provisioner does: the unpack script's flush of the
// device's cached blocks makes the second read see the second stage. Read
// without the flush, the device answers from its page cache with the first
// stage's blocks. Root only.
func TestStageDiskBlockDeviceRewritten(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loop devices need root")
	}
	losetup := testutil.Tool(t, "losetup")
	testutil.Tool(t, "blockdev")
	disk := sparseDisk(t, 64<<20)
	first, firstIn := stagePlanWith(t, "first ")
	_, err := FillStageDisk(disk, first, firstIn)
	require.NoError(t, err)
	out, err := exec.Command(losetup, "--find", "--show", "--read-only", disk).CombinedOutput()
	if err != nil {
		t.Skipf("no loop device here: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command(losetup, "--detach", dev).Run() })
	// Linux drops a block device's cache when its last user closes it; in
	// a guest something may hold it open (a udev worker, multipathd,
	// udisks), as this test does.
	holder, err := os.Open(dev)
	require.NoError(t, err)
	t.Cleanup(func() { holder.Close() })
	script := strings.ReplaceAll(extractStageScript("/placeholder"), "/placeholder", `"$KUBEBAKE_TEST_STAGE"`)
	require.Contains(t, script, `blockdev --flushbufs "$dev"`)
	noFlush := strings.Replace(script, `blockdev --flushbufs "$dev"`, "true", 1)

	assert.Equal(t, uploadedTree(t, first, firstIn), unpack(t, dev, script), "the first stage, read through the device")
	second, secondIn := stagePlanWith(t, "the second ")
	_, err = FillStageDisk(disk, second, secondIn)
	require.NoError(t, err)
	want := uploadedTree(t, second, secondIn)

	// Without the flush, the device serves the blocks it cached.
	dir := filepath.Join(t.TempDir(), "stale")
	cmd := exec.Command("bash", "-c", noFlush)
	cmd.Env = append(os.Environ(), "KUBEBAKE_STAGE_DISK="+dev, "KUBEBAKE_TEST_STAGE="+dir)
	if stale, err := cmd.CombinedOutput(); err != nil {
		t.Logf("without the flush tar read a mix of both stages: %v: %s", err, stale)
	} else {
		assert.NotEqual(t, want, testutil.DirFiles(t, dir), "without the flush the cached first stage is read")
	}

	assert.Equal(t, want, unpack(t, dev, script), "the second stage, read through the device after the flush")
}
