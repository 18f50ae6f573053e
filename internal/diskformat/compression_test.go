package diskformat_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/diskformat"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/testutil"
)

func TestParseCompression(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    diskformat.Compression
		wantErr string
	}{
		{name: "empty is the default, zlib", in: "", want: diskformat.CompressionZlib},
		{name: "zlib", in: "zlib", want: diskformat.CompressionZlib},
		{name: "zstd", in: "zstd", want: diskformat.CompressionZstd},
		{name: "none", in: "none", want: diskformat.CompressionNone},
		{name: "unknown names the field", in: "lz4", wantErr: `--compression: "lz4" must be one of zlib, zstd, none`},
		{name: "case matters", in: "ZSTD", wantErr: `--compression: "ZSTD" must be one of zlib, zstd, none`},
		{name: "deflate is reported, not chosen", in: "deflate", wantErr: `--compression: "deflate" must be one of`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := diskformat.ParseCompression("--compression", tc.in)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestFormatCompression: what each format accepts (CheckCompression) and
// the compression its image then has (Compression).
func TestFormatCompression(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		format string
		asked  diskformat.Compression
		want   diskformat.Compression
		refuse bool
	}{
		{name: "qcow2 default", format: "qcow2", want: diskformat.CompressionZlib},
		{name: "qcow2 zstd", format: "qcow2", asked: diskformat.CompressionZstd, want: diskformat.CompressionZstd},
		{name: "qcow2 none", format: "qcow2", asked: diskformat.CompressionNone, want: diskformat.CompressionNone},
		{name: "vmdk deflates whatever is asked", format: "vmdk", asked: diskformat.CompressionNone, want: diskformat.CompressionDeflate},
		{name: "ova deflates", format: "ova", asked: diskformat.CompressionZlib, want: diskformat.CompressionDeflate},
		{name: "raw has none", format: "raw", want: diskformat.CompressionNone},
		{name: "vhdx has none", format: "vhdx", asked: diskformat.CompressionZlib, want: diskformat.CompressionNone},
		{name: "vmdk refuses zstd", format: "vmdk", asked: diskformat.CompressionZstd, refuse: true},
		{name: "vhd refuses zstd", format: "vhd", asked: diskformat.CompressionZstd, refuse: true},
		{name: "qcow2 refuses deflate", format: "qcow2", asked: diskformat.CompressionDeflate, refuse: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, ok := diskformat.Lookup(tc.format)
			require.True(t, ok)
			err := f.CheckCompression(tc.asked)
			if tc.refuse {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, f.Compression(tc.asked))
		})
	}
}

// TestQemuImgWritesCompression has the real qemu-img write a qcow2 of
// compressible data with each compression: qemu-img info reports the
// compression type in the header, the compressed images are smaller than
// the uncompressed one, qemu-img check finds them clean, and each reads
// back as the source's data (qemu-img compare).
func TestQemuImgWritesCompression(t *testing.T) {
	bin := testutil.Tool(t, "qemu-img")
	dir := t.TempDir()
	src := filepath.Join(dir, "src.raw")
	var data bytes.Buffer
	for i := 0; data.Len() < 4<<20; i++ {
		fmt.Fprintf(&data, "line %d of a compressible disk\n", i)
	}
	require.NoError(t, os.WriteFile(src, data.Bytes()[:4<<20], 0o644))
	qemuImg := diskformat.QemuImgVia(sys.Exec{}, bin)
	f, _ := diskformat.Lookup("qcow2")
	sizes := map[diskformat.Compression]int64{}
	tests := []struct {
		name  string
		asked diskformat.Compression
		// header is the compression type qemu-img info reports: an
		// uncompressed qcow2 has the default, zlib, in its header.
		header string
	}{
		{name: "default", header: "zlib"},
		{name: "zstd", asked: diskformat.CompressionZstd, header: "zstd"},
		{name: "none", asked: diskformat.CompressionNone, header: "zlib"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dst := filepath.Join(dir, tc.name+".qcow2")
			args, err := f.ConvertArgs("raw", src, tc.asked, dst)
			require.NoError(t, err)
			_, err = qemuImg(ctx, args...)
			require.NoError(t, err)
			assert.Equal(t, tc.header, testutil.QcowCompressionType(t, bin, dst))
			_, err = qemuImg(ctx, "check", "-q", "-f", "qcow2", dst)
			require.NoError(t, err, "qemu-img check")
			_, err = qemuImg(ctx, "compare", "-q", "-f", "raw", "-F", "qcow2", src, dst)
			require.NoError(t, err, "the image reads back as the source")
			st, err := os.Stat(dst)
			require.NoError(t, err)
			sizes[f.Compression(tc.asked)] = st.Size()
		})
	}
	require.Len(t, sizes, 3)
	for _, c := range []diskformat.Compression{diskformat.CompressionZlib, diskformat.CompressionZstd} {
		assert.Less(t, sizes[c]*4, sizes[diskformat.CompressionNone], "%s compresses the data to less than a quarter", c)
	}
}
