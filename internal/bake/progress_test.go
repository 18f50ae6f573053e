package bake

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/diskformat"
	"github.com/kubebake/kubebake/internal/sys"
)

// TestConvertCmd: the image write shows qemu-img's progress meter on a
// terminal (-p, streamed to Progress) and is quiet elsewhere (-q, nothing
// streamed), so a log file or a pipe gets no carriage-return noise.
func TestConvertCmd(t *testing.T) {
	t.Parallel()
	var progress bytes.Buffer
	tests := []struct {
		name        string
		format      string
		compression diskformat.Compression
		terminal    bool
		want        []string
	}{
		{name: "qcow2, not a terminal", format: "qcow2",
			want: []string{"convert", "-q", "-f", "raw", "-O", "qcow2", "-c", "-o", "compression_type=zlib", "disk.raw", "out.qcow2"}},
		{name: "qcow2, terminal", format: "qcow2", terminal: true,
			want: []string{"convert", "-p", "-f", "raw", "-O", "qcow2", "-c", "-o", "compression_type=zlib", "disk.raw", "out.qcow2"}},
		{name: "zstd qcow2, terminal", format: "qcow2", compression: diskformat.CompressionZstd, terminal: true,
			want: []string{"convert", "-p", "-f", "raw", "-O", "qcow2", "-c", "-o", "compression_type=zstd", "disk.raw", "out.qcow2"}},
		{name: "uncompressed qcow2", format: "qcow2", compression: diskformat.CompressionNone,
			want: []string{"convert", "-q", "-f", "raw", "-O", "qcow2", "disk.raw", "out.qcow2"}},
		{name: "vmdk, not a terminal", format: "vmdk",
			want: []string{"convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", "disk.raw", "out.qcow2"}},
		{name: "raw, terminal", format: "raw", terminal: true,
			want: []string{"convert", "-p", "-f", "raw", "-O", "raw", "disk.raw", "out.qcow2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, ok := diskformat.Lookup(tc.format)
			require.True(t, ok)
			c, err := convertCmd(Options{Progress: &progress, Terminal: tc.terminal, Compression: tc.compression}, f, provisioned{disk: "disk.raw", driver: "raw"}, "out.qcow2")
			require.NoError(t, err)
			assert.Equal(t, "qemu-img", c.Name)
			assert.Equal(t, tc.want, c.Args)
			if tc.terminal {
				assert.Same(t, &progress, c.Stream, "the meter goes where the progress goes")
			} else {
				assert.Nil(t, c.Stream, "nothing streamed off a terminal")
			}
		})
	}
	f, _ := diskformat.Lookup("vmdk")
	_, err := convertCmd(Options{Compression: diskformat.CompressionZstd}, f, provisioned{disk: "disk.raw", driver: "raw"}, "out.vmdk")
	assert.ErrorContains(t, err, "zstd is for qcow2 only: format vmdk is a streamOptimized VMDK")
}

// TestConvertCmdShowsProgress runs the terminal's command with the real
// qemu-img: its meter arrives in Progress as it writes.
func TestConvertCmdShowsProgress(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img not found (apt-get install qemu-utils)")
	}
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk.raw")
	out, err := exec.Command("qemu-img", "create", "-q", "-f", "raw", disk, "16M").CombinedOutput()
	require.NoError(t, err, "%s", out)
	f, _ := diskformat.Lookup("qcow2")
	for _, terminal := range []bool{true, false} {
		var progress bytes.Buffer
		c, err := convertCmd(Options{Progress: &progress, Terminal: terminal}, f, provisioned{disk: disk, driver: "raw"}, filepath.Join(dir, "out.qcow2"))
		require.NoError(t, err)
		_, err = sys.Exec{}.Run(context.Background(), c)
		require.NoError(t, err)
		if terminal {
			assert.Contains(t, progress.String(), "(100.00/100%)\r")
		} else {
			assert.Empty(t, progress.String())
		}
	}
}
