package base

import (
	"path/filepath"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func gptDisk(t *testing.T, parts ...*gpt.Partition) string {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "disk.raw")
	d, err := diskfs.Create(raw, 64<<20, diskfs.SectorSizeDefault)
	require.NoError(t, err)
	require.NoError(t, d.Partition(&gpt.Table{LogicalSectorSize: 512, PhysicalSectorSize: 512, ProtectiveMBR: true, Partitions: parts}))
	require.NoError(t, d.Close())
	return raw
}

func TestFindRoot(t *testing.T) {
	t.Parallel()
	esp := func() *gpt.Partition {
		return &gpt.Partition{Index: 1, Start: 2048, End: 10239, Type: gpt.EFISystemPartition, Name: "ESP"}
	}
	cases := []struct {
		name  string
		parts []*gpt.Partition
		want  int64
		err   string
	}{
		{"named root", []*gpt.Partition{esp(), {Index: 2, Start: 10240, End: 100000, Type: gpt.LinuxFilesystem, Name: "root"}}, 10240 * 512, ""},
		{"the only Linux partition", []*gpt.Partition{esp(), {Index: 2, Start: 20480, End: 100000, Type: gpt.LinuxFilesystem}}, 20480 * 512, ""},
		{"two Linux partitions, none named root", []*gpt.Partition{
			{Index: 1, Start: 2048, End: 40000, Type: gpt.LinuxFilesystem},
			{Index: 2, Start: 40960, End: 100000, Type: gpt.LinuxFilesystem},
		}, 0, "want one partition named root"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := FindRoot(gptDisk(t, tc.parts...))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, r.Offset)
		})
	}
	_, err := FindRoot(filepath.Join(t.TempDir(), "missing.raw"))
	require.ErrorContains(t, err, "missing.raw")
}
