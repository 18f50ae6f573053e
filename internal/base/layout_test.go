package base

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewLayout(t *testing.T) {
	t.Parallel()
	const gib = 1 << 30
	cases := []struct {
		name      string
		disk, esp int64
		want      Layout
		err       string
	}{
		{
			name: "default 4 GiB disk, 256 MiB ESP",
			disk: 4 * gib, esp: 256 * mib,
			// 4096 MiB - 1 MiB before the ESP - 256 MiB ESP = 3839 MiB, less the
			// 33 backup GPT sectors: 3838 whole MiB.
			want: Layout{DiskSize: 4 * gib, ESP: Extent{Start: mib, Size: 256 * mib}, Root: Extent{Start: 257 * mib, Size: 3838 * mib}},
		},
		{
			name: "larger disk, smaller ESP",
			disk: 20 * gib, esp: 100 * mib,
			want: Layout{DiskSize: 20 * gib, ESP: Extent{Start: mib, Size: 100 * mib}, Root: Extent{Start: 101 * mib, Size: 20378 * mib}},
		},
		{
			name: "smallest disk",
			disk: (1 + 64 + 1024 + 1) * mib, esp: 64 * mib,
			want: Layout{DiskSize: 1090 * mib, ESP: Extent{Start: mib, Size: 64 * mib}, Root: Extent{Start: 65 * mib, Size: 1024 * mib}},
		},
		{name: "one MiB short", disk: (1 + 64 + 1024) * mib, esp: 64 * mib,
			err: "disk too small: 1089 MiB leaves 1023 MiB for root after the 64 MiB ESP (want at least 1024 MiB)"},
		{name: "tiny disk", disk: 16 * mib, esp: 64 * mib,
			err: "disk too small: 16 MiB leaves 0 MiB for root after the 64 MiB ESP (want at least 1024 MiB)"},
		{name: "disk not whole MiB", disk: 4*gib + 512, esp: 256 * mib, err: "disk size 4294967808 is not a positive multiple of 1 MiB"},
		{name: "no disk", disk: 0, esp: 256 * mib, err: "disk size 0 is not a positive multiple of 1 MiB"},
		{name: "ESP too small", disk: 4 * gib, esp: 32 * mib, err: "ESP size 33554432 is not a multiple of 1 MiB of at least 64 MiB"},
		{name: "ESP not whole MiB", disk: 4 * gib, esp: 100*mib + 4096, err: "ESP size 104861696 is not a multiple of 1 MiB of at least 64 MiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := newLayout(tc.disk, tc.esp)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			// The root partition ends before the backup GPT.
			lastUsable := uint64(tc.disk/sectorSize) - 1 - gptEntriesSectors - 1
			assert.LessOrEqual(t, got.Root.LastSector(), lastUsable)
			assert.Equal(t, got.ESP.LastSector()+1, got.Root.FirstSector())
		})
	}
}

func TestExtentSectors(t *testing.T) {
	t.Parallel()
	e := Extent{Start: mib, Size: 256 * mib}
	assert.Equal(t, uint64(2048), e.FirstSector())
	assert.Equal(t, uint64(2048+524288-1), e.LastSector())
}
