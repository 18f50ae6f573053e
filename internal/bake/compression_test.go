package bake

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/diskformat"
	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/testutil"
	"github.com/kubebake/kubebake/recipes/render"
)

// TestPublishCompression publishes a disk with the real qemu-img in each
// compression: the image's header has the compression type asked for
// (qemu-img info) and the manifest records the compression the image has.
func TestPublishCompression(t *testing.T) {
	bin := testutil.Tool(t, "qemu-img")
	p, _, err := render.Load("debian-13-containerd")
	require.NoError(t, err)
	base := filepath.Join(t.TempDir(), "base.qcow2")
	require.NoError(t, os.WriteFile(base, []byte("base"), 0o644))
	disk := randomDisk(t, 1<<20)
	tests := []struct {
		name        string
		format      string
		compression diskformat.Compression
		// header is qemu-img info's compression-type; empty: not a qcow2.
		header, manifest string
	}{
		{name: "default qcow2", format: "qcow2", header: "zlib", manifest: "zlib"},
		{name: "zstd qcow2", format: "qcow2", compression: diskformat.CompressionZstd, header: "zstd", manifest: "zstd"},
		{name: "uncompressed qcow2", format: "qcow2", compression: diskformat.CompressionNone, header: "zlib", manifest: "none"},
		{name: "vmdk", format: "vmdk", manifest: "deflate"},
		{name: "raw", format: "raw", manifest: "none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			format, ok := diskformat.Lookup(tc.format)
			require.True(t, ok)
			o := Options{Base: base, OutDir: t.TempDir(), Mode: ModeChroot, Compression: tc.compression, Runner: sys.Exec{}}
			res, err := publish(context.Background(), o, p, provisioned{disk: disk, driver: "raw", inventory: testInventory}, format, nil, time.Now())
			require.NoError(t, err)
			b, err := os.ReadFile(res.Manifest)
			require.NoError(t, err)
			var m manifest.Manifest
			require.NoError(t, json.Unmarshal(b, &m))
			assert.Equal(t, tc.manifest, m.Compression)
			if tc.header == "" {
				return
			}
			assert.Equal(t, tc.header, testutil.QcowCompressionType(t, bin, res.Image))
		})
	}
}

// TestBuildRefusesCompression: a compression the format cannot have is
// refused, naming it and why, before anything is created.
func TestBuildRefusesCompression(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		format      string
		compression diskformat.Compression
		want        string
	}{
		{name: "zstd vmdk", format: "vmdk", compression: diskformat.CompressionZstd, want: "compression zstd: zstd is for qcow2 only: format vmdk is a streamOptimized VMDK, which compresses its grains with deflate by itself"},
		{name: "zstd ova", format: "ova", compression: diskformat.CompressionZstd, want: "compression zstd: zstd is for qcow2 only: format ova"},
		{name: "zstd raw", format: "raw", compression: diskformat.CompressionZstd, want: "compression zstd: zstd is for qcow2 only: format raw is not compressed"},
		{name: "unknown", format: "qcow2", compression: "xz", want: `compression xz: unknown compression "xz"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out")
			_, err := Build(context.Background(), Options{Recipe: "debian-13-containerd", Base: "x", OutDir: out, Format: tc.format, Compression: tc.compression})
			require.ErrorContains(t, err, tc.want)
			assert.NoDirExists(t, out)
		})
	}
}
