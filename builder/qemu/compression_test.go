package qemu

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/testutil"
)

// TestPrepareCompression: compress (or disk_compression) and
// compression_type each decide the qcow2's compression alone, must agree
// when both are given, and zstd is refused for anything but qcow2.
func TestPrepareCompression(t *testing.T) {
	t.Parallel()
	src := sourceImage(t)
	tests := []struct {
		name     string
		raw      map[string]interface{}
		wantType string
		wantOn   bool
		wantErr  string
	}{
		{name: "neither: zlib", wantType: "zlib", wantOn: true},
		{name: "compress false: none", raw: map[string]interface{}{"compress": false}, wantType: "none"},
		{name: "disk_compression false: none", raw: map[string]interface{}{"disk_compression": false}, wantType: "none"},
		{name: "zstd", raw: map[string]interface{}{"compression_type": "zstd"}, wantType: "zstd", wantOn: true},
		{name: "zstd and compress true", raw: map[string]interface{}{"compression_type": "zstd", "compress": true}, wantType: "zstd", wantOn: true},
		{name: "none turns compress off", raw: map[string]interface{}{"compression_type": "none"}, wantType: "none"},
		{name: "none and compress false", raw: map[string]interface{}{"compression_type": "none", "compress": false}, wantType: "none"},
		{name: "raw takes the default", raw: map[string]interface{}{"format": "raw"}, wantType: "zlib", wantOn: true},
		{name: "zstd against compress false", raw: map[string]interface{}{"compression_type": "zstd", "compress": false},
			wantErr: `compression_type "zstd" and compress (or disk_compression) = false contradict: give one (compress = false is compression_type = "none")`},
		{name: "zstd against disk_compression false", raw: map[string]interface{}{"compression_type": "zstd", "disk_compression": false},
			wantErr: `compression_type "zstd" and compress (or disk_compression) = false contradict`},
		{name: "none against compress true", raw: map[string]interface{}{"compression_type": "none", "compress": true},
			wantErr: `compression_type "none" and compress (or disk_compression) = true contradict`},
		{name: "unknown", raw: map[string]interface{}{"compression_type": "xz"}, wantErr: `compression_type: "xz" must be one of zlib, zstd, none`},
		{name: "zstd vmdk", raw: map[string]interface{}{"compression_type": "zstd", "format": "vmdk"},
			wantErr: `compression_type: "zstd" with format "vmdk": zstd is for qcow2 only: format vmdk is a streamOptimized VMDK, which compresses its grains with deflate by itself`},
		{name: "zstd ova", raw: map[string]interface{}{"compression_type": "zstd", "format": "ova"}, wantErr: `compression_type: "zstd" with format "ova": zstd is for qcow2 only`},
		{name: "zstd vhd", raw: map[string]interface{}{"compression_type": "zstd", "format": "vhd"}, wantErr: `compression_type: "zstd" with format "vhd": zstd is for qcow2 only: format vhd is not compressed`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := map[string]interface{}{"source_image": src, "output_directory": filepath.Join(t.TempDir(), "out")}
			for k, v := range tc.raw {
				raw[k] = v
			}
			var c Config
			_, err := c.Prepare(raw)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				assert.NotContains(t, err.Error(), "unknown compression", "one error for one bad field")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantType, c.CompressionType)
			require.NotNil(t, c.Compress)
			assert.Equal(t, tc.wantOn, *c.Compress)
		})
	}
}

// TestConvertImageCompression writes the overlay with the real qemu-img
// as the configuration asks: the qcow2's header has the compression type,
// and the manifest records the compression the image has.
func TestConvertImageCompression(t *testing.T) {
	bin := testutil.Tool(t, "qemu-img")
	overlay := filepath.Join(t.TempDir(), "disk.qcow2")
	b, err := exec.Command(bin, "create", "-q", "-f", "qcow2", overlay, "16M").CombinedOutput()
	require.NoError(t, err, "%s", b)
	f, fa := true, false
	tests := []struct {
		name string
		c    Config
		// header is qemu-img info's compression-type; say is what the
		// builder says it writes.
		header, manifest, say string
	}{
		{name: "default", c: Config{Format: "qcow2", Compress: &f}, header: "zlib", manifest: "zlib", say: "(qcow2, zlib-compressed)"},
		{name: "zstd", c: Config{Format: "qcow2", Compress: &f, CompressionType: "zstd"}, header: "zstd", manifest: "zstd", say: "(qcow2, zstd-compressed)"},
		{name: "compress false", c: Config{Format: "qcow2", Compress: &fa}, header: "zlib", manifest: "none", say: "(qcow2)"},
		{name: "vmdk", c: Config{Format: "vmdk", Compress: &f}, manifest: "deflate", say: "(vmdk, deflate-compressed)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			c.OutputDirectory, c.VMName = filepath.Join(t.TempDir(), "out"), "node"
			state, ui := newState(t, &c, &hostDriver{qemuImg: bin, runner: sys.Exec{}})
			state.Put(keyOverlay, overlay)
			s := &stepConvertImage{config: &c}
			require.Equal(t, multistep.ActionContinue, s.Run(context.Background(), state), "%v", state.Get("error"))
			assert.Contains(t, ui.String(), tc.say)
			now := time.Now()
			m := &stepWriteManifest{config: &c, start: now, now: func() time.Time { return now }}
			require.Equal(t, multistep.ActionContinue, m.Run(context.Background(), state), "%v", state.Get("error"))
			js, err := os.ReadFile(filepath.Join(c.OutputDirectory, "manifest.json"))
			require.NoError(t, err)
			var man manifest.Manifest
			require.NoError(t, json.Unmarshal(js, &man))
			assert.Equal(t, tc.manifest, man.Compression)
			if tc.header == "" {
				return
			}
			assert.Equal(t, tc.header, testutil.QcowCompressionType(t, bin, state.Get(keyOutput).(string)))
		})
	}
}
