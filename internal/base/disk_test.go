package base

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sparseFile makes a sparse file of size bytes holding chunks at their
// offsets.
func sparseFile(t *testing.T, path string, size int64, chunks map[int64][]byte) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size))
	for off, b := range chunks {
		_, err := f.WriteAt(b, off)
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
}

func TestAssembleDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := newLayout(1200*mib, 64*mib)
	require.NoError(t, err)
	ids := diskIDs{disk: newUUID(), esp: newUUID(), root: newUUID()}
	uki := append([]byte("MZ"), bytes.Repeat([]byte("unified kernel image "), 300_000)...) // 6 MB, odd size
	chunks := map[int64][]byte{
		0:                  bytes.Repeat([]byte{0xaa}, 4096),
		5*mib + 123:        []byte("in the middle"),
		l.Root.Size - 4096: bytes.Repeat([]byte{0x55}, 4096),
	}
	rootImage := filepath.Join(dir, "root.ext4")
	sparseFile(t, rootImage, l.Root.Size, chunks)
	raw := filepath.Join(dir, "disk.raw")

	require.NoError(t, assembleDisk(raw, l, ids, bytes.NewReader(uki), rootImage))

	fi, err := os.Stat(raw)
	require.NoError(t, err)
	assert.Equal(t, l.DiskSize, fi.Size())
	used, err := allocated(raw)
	require.NoError(t, err)
	assert.Less(t, used, int64(32*mib), "the disk stays sparse")

	// The table, read back by go-diskfs.
	d, err := diskfs.Open(raw, diskfs.WithOpenMode(diskfs.ReadOnly))
	require.NoError(t, err)
	defer d.Close()
	pt, err := d.GetPartitionTable()
	require.NoError(t, err)
	table, ok := pt.(*gpt.Table)
	require.True(t, ok, "a GPT")
	assert.True(t, table.ProtectiveMBR)
	assert.True(t, strings.EqualFold(ids.disk, table.GUID))
	require.Len(t, table.Partitions, 2)
	for i, want := range []struct {
		ext  Extent
		typ  gpt.Type
		name string
		guid string
	}{
		{l.ESP, gpt.EFISystemPartition, "ESP", ids.esp},
		{l.Root, gpt.LinuxRootX86_64, "root", ids.root},
	} {
		p := table.Partitions[i]
		assert.Equal(t, want.ext.FirstSector(), p.Start, "partition %d start", i+1)
		assert.Equal(t, want.ext.LastSector(), p.End, "partition %d end", i+1)
		assert.Equal(t, want.typ, p.Type)
		assert.Equal(t, want.name, p.Name)
		assert.True(t, strings.EqualFold(want.guid, p.GUID), "partition %d GUID %s", i+1, p.GUID)
	}

	// The UKI on the FAT32 ESP.
	fsys, err := d.GetFilesystem(espPartition)
	require.NoError(t, err)
	assert.Equal(t, "ESP", strings.TrimSpace(fsys.Label()))
	f, err := fsys.OpenFile(ukiPath, os.O_RDONLY)
	require.NoError(t, err)
	got, err := io.ReadAll(f)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(uki, got), "UKI read back from the ESP (%d bytes, want %d)", len(got), len(uki))

	// The root partition holds the image's bytes, holes as zeros.
	disk, err := os.Open(raw)
	require.NoError(t, err)
	defer disk.Close()
	for off, want := range chunks {
		b := make([]byte, len(want))
		_, err := disk.ReadAt(b, l.Root.Start+off)
		require.NoError(t, err)
		assert.Equal(t, want, b, "root partition at %d", off)
	}
	b := make([]byte, 4096)
	_, err = disk.ReadAt(b, l.Root.Start+100*mib)
	require.NoError(t, err)
	assert.True(t, allZero(b))

	// sfdisk, which reads the protective MBR and the GPT like the kernel.
	if sfdisk, err := exec.LookPath("sfdisk"); err == nil {
		out, err := exec.Command(sfdisk, "--json", raw).Output()
		require.NoError(t, err)
		var dump struct {
			PartitionTable struct {
				Label      string `json:"label"`
				Partitions []struct {
					Start int64  `json:"start"`
					Size  int64  `json:"size"`
					Type  string `json:"type"`
				} `json:"partitions"`
			} `json:"partitiontable"`
		}
		require.NoError(t, json.Unmarshal(out, &dump))
		assert.Equal(t, "gpt", dump.PartitionTable.Label)
		require.Len(t, dump.PartitionTable.Partitions, 2)
		assert.Equal(t, l.Root.Start/sectorSize, dump.PartitionTable.Partitions[1].Start)
		assert.Equal(t, l.Root.Size/sectorSize, dump.PartitionTable.Partitions[1].Size)
		assert.Equal(t, string(gpt.EFISystemPartition), dump.PartitionTable.Partitions[0].Type)
	}
}

func TestCopyRootImageTooLarge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	img := filepath.Join(dir, "root.ext4")
	sparseFile(t, img, 2*mib, nil)
	raw := filepath.Join(dir, "disk.raw")
	sparseFile(t, raw, 8*mib, nil)
	err := copyRootImage(raw, Extent{Start: mib, Size: mib}, img)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "larger than the 1048576-byte root partition")
}

func TestCopySparse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		size   int64
		chunks map[int64][]byte
	}{
		{name: "all hole", size: 3 * mib},
		{name: "data at both ends, size not whole chunks", size: 3*mib + 17,
			chunks: map[int64][]byte{0: []byte("head"), 3*mib + 13: []byte("tail")}},
		{name: "written zeros are skipped, data kept", size: 4 * mib,
			chunks: map[int64][]byte{0: make([]byte, 2*mib), 2*mib + 1: []byte("x")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			src := filepath.Join(dir, "src")
			sparseFile(t, src, tc.size, tc.chunks)
			in, err := os.Open(src)
			require.NoError(t, err)
			defer in.Close()
			var dst recordingWriterAt
			require.NoError(t, copySparse(&dst, 1000, in, tc.size))
			want, err := os.ReadFile(src)
			require.NoError(t, err)
			got := make([]byte, tc.size)
			for off, b := range dst.writes {
				require.GreaterOrEqual(t, off, int64(1000))
				copy(got[off-1000:], b)
				assert.False(t, allZero(b), "a chunk of zeros was written at %d", off)
			}
			assert.True(t, bytes.Equal(want, got))
		})
	}
}

// recordingWriterAt keeps what is written, by offset.
type recordingWriterAt struct{ writes map[int64][]byte }

func (r *recordingWriterAt) WriteAt(p []byte, off int64) (int, error) {
	if r.writes == nil {
		r.writes = map[int64][]byte{}
	}
	r.writes[off] = bytes.Clone(p)
	return len(p), nil
}

func TestNewUUID(t *testing.T) {
	t.Parallel()
	a, b := newUUID(), newUUID()
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, a)
	assert.NotEqual(t, a, b)
}
