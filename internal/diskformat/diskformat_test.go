package diskformat_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/diskformat"
)

func TestConvertArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		format      string
		compression diskformat.Compression
		want        []string
	}{
		{name: "default qcow2 is zlib", format: "qcow2", want: []string{"convert", "-q", "-f", "raw", "-O", "qcow2", "-c", "-o", "compression_type=zlib", "s", "d"}},
		{name: "zlib qcow2", format: "qcow2", compression: diskformat.CompressionZlib, want: []string{"convert", "-q", "-f", "raw", "-O", "qcow2", "-c", "-o", "compression_type=zlib", "s", "d"}},
		{name: "zstd qcow2", format: "qcow2", compression: diskformat.CompressionZstd, want: []string{"convert", "-q", "-f", "raw", "-O", "qcow2", "-c", "-o", "compression_type=zstd", "s", "d"}},
		{name: "plain qcow2", format: "qcow2", compression: diskformat.CompressionNone, want: []string{"convert", "-q", "-f", "raw", "-O", "qcow2", "s", "d"}},
		{name: "raw ignores zlib", format: "raw", compression: diskformat.CompressionZlib, want: []string{"convert", "-q", "-f", "raw", "-O", "raw", "s", "d"}},
		{name: "stream-optimized vmdk", format: "vmdk", want: []string{"convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", "s", "d"}},
		{name: "stream-optimized vmdk ignores none", format: "vmdk", compression: diskformat.CompressionNone, want: []string{"convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", "s", "d"}},
		{name: "fixed vhd", format: "vhd", want: []string{"convert", "-q", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on", "s", "d"}},
		{name: "vhdx", format: "vhdx", want: []string{"convert", "-q", "-f", "raw", "-O", "vhdx", "-o", "subformat=dynamic", "s", "d"}},
		{name: "ova's disk", format: "ova", compression: diskformat.CompressionZlib, want: []string{"convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized,adapter_type=lsilogic", "s", "d"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, ok := diskformat.Lookup(tc.format)
			require.True(t, ok)
			got, err := f.ConvertArgs("raw", "s", tc.compression, "d")
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	_, ok := diskformat.Lookup("vdi")
	assert.False(t, ok)
}

// TestConvertArgsRefuses: a compression the format cannot be written with
// is an error saying why (naming the format), not arguments.
func TestConvertArgsRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		format      string
		compression diskformat.Compression
		want        string
	}{
		{name: "zstd vmdk", format: "vmdk", compression: diskformat.CompressionZstd, want: "zstd is for qcow2 only: format vmdk is a streamOptimized VMDK, which compresses its grains with deflate by itself"},
		{name: "zstd ova", format: "ova", compression: diskformat.CompressionZstd, want: "zstd is for qcow2 only: format ova is a streamOptimized VMDK"},
		{name: "zstd raw", format: "raw", compression: diskformat.CompressionZstd, want: "zstd is for qcow2 only: format raw is not compressed"},
		{name: "unknown", format: "qcow2", compression: "lz4", want: `unknown compression "lz4" (want one of zlib, zstd, none)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, _ := diskformat.Lookup(tc.format)
			args, err := f.ConvertArgs("raw", "s", tc.compression, "d")
			require.Error(t, err)
			assert.Nil(t, args)
			assert.Contains(t, err.Error(), tc.want)
			_, err = f.ProgressConvertArgs("raw", "s", tc.compression, "d")
			assert.Error(t, err, "ProgressConvertArgs refuses it too")
		})
	}
}

// TestQemuImgWritesEveryFormat has the real qemu-img write each format and
// read it back: qemu-img info names the format (and vmdk's subformat), and
// qemu-img check finds no errors where it can check the format.
func TestQemuImgWritesEveryFormat(t *testing.T) {
	qemuImg, err := exec.LookPath("qemu-img")
	if err != nil {
		t.Skip("qemu-img not found (apt-get install qemu-utils)")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src.raw")
	out, err := exec.Command(qemuImg, "create", "-q", "-f", "raw", src, "8M").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, name := range diskformat.Names() {
		f, _ := diskformat.Lookup(name)
		if f.Package != "" {
			continue // a package, not a disk: TestWriteOVA
		}
		t.Run(name, func(t *testing.T) {
			dst := filepath.Join(dir, "image."+f.Ext)
			convert, err := f.ConvertArgs("raw", src, diskformat.DefaultCompression, dst)
			require.NoError(t, err)
			out, err := exec.Command(qemuImg, convert...).CombinedOutput()
			require.NoError(t, err, "%s", out)
			args := []string{"info", "--output=json", dst}
			if name == "vhd" {
				// A fixed VHD is raw data with a footer, which qemu-img's
				// probe reads as raw: check the footer, then name the format.
				b, err := os.ReadFile(dst)
				require.NoError(t, err)
				require.Greater(t, len(b), 512)
				assert.Equal(t, "conectix", string(b[len(b)-512:len(b)-504]), "VHD footer cookie")
				args = []string{"info", "--output=json", "-f", "vpc", dst}
			}
			js, err := exec.Command(qemuImg, args...).Output()
			require.NoError(t, err)
			var info struct {
				Format      string `json:"format"`
				VirtualSize int64  `json:"virtual-size"`
				Specific    struct {
					Data struct {
						CreateType string `json:"create-type"`
					} `json:"data"`
				} `json:"format-specific"`
			}
			require.NoError(t, json.Unmarshal(js, &info))
			assert.Equal(t, f.Driver, info.Format)
			assert.Equal(t, int64(8<<20), info.VirtualSize)
			if name == "vmdk" {
				assert.Equal(t, "streamOptimized", info.Specific.Data.CreateType)
			}
			switch name {
			case "qcow2", "vmdk", "vhdx":
				out, err := exec.Command(qemuImg, "check", dst).CombinedOutput()
				require.NoError(t, err, "qemu-img check: %s", out)
			}
		})
	}
}

// TestProgressConvertArgs: for a terminal, qemu-img convert shows its
// progress (-p) instead of being quiet (-q); nothing else changes.
func TestProgressConvertArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		format      string
		compression diskformat.Compression
		want        []string
	}{
		{name: "default qcow2", format: "qcow2", want: []string{"convert", "-p", "-f", "raw", "-O", "qcow2", "-c", "-o", "compression_type=zlib", "s", "d"}},
		{name: "zstd qcow2", format: "qcow2", compression: diskformat.CompressionZstd, want: []string{"convert", "-p", "-f", "raw", "-O", "qcow2", "-c", "-o", "compression_type=zstd", "s", "d"}},
		{name: "plain qcow2", format: "qcow2", compression: diskformat.CompressionNone, want: []string{"convert", "-p", "-f", "raw", "-O", "qcow2", "s", "d"}},
		{name: "raw", format: "raw", want: []string{"convert", "-p", "-f", "raw", "-O", "raw", "s", "d"}},
		{name: "stream-optimized vmdk", format: "vmdk", compression: diskformat.CompressionZlib, want: []string{"convert", "-p", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", "s", "d"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, ok := diskformat.Lookup(tc.format)
			require.True(t, ok)
			got, err := f.ProgressConvertArgs("raw", "s", tc.compression, "d")
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			quiet, err := f.ConvertArgs("raw", "s", tc.compression, "d")
			require.NoError(t, err)
			assert.Equal(t, "-q", quiet[1], "not on a terminal: quiet")
			quiet[1] = "-p"
			assert.Equal(t, quiet, got, "only -q becomes -p")
		})
	}
}

// TestQemuImgProgress: the real qemu-img prints its progress with -p, even
// into a pipe, and nothing with -q.
func TestQemuImgProgress(t *testing.T) {
	qemuImg, err := exec.LookPath("qemu-img")
	if err != nil {
		t.Skip("qemu-img not found (apt-get install qemu-utils)")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src.raw")
	out, err := exec.Command(qemuImg, "create", "-q", "-f", "raw", src, "8M").CombinedOutput()
	require.NoError(t, err, "%s", out)
	f, _ := diskformat.Lookup("qcow2")
	args, err := f.ProgressConvertArgs("raw", src, diskformat.DefaultCompression, filepath.Join(dir, "p.qcow2"))
	require.NoError(t, err)
	out, err = exec.Command(qemuImg, args...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "(100.00/100%)\r")
	args, err = f.ConvertArgs("raw", src, diskformat.DefaultCompression, filepath.Join(dir, "q.qcow2"))
	require.NoError(t, err)
	out, err = exec.Command(qemuImg, args...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Empty(t, string(out))
}
