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
		name     string
		format   string
		compress bool
		want     []string
	}{
		{name: "compressed qcow2", format: "qcow2", compress: true, want: []string{"convert", "-q", "-f", "raw", "-O", "qcow2", "-c", "-o", "compression_type=zlib", "s", "d"}},
		{name: "plain qcow2", format: "qcow2", want: []string{"convert", "-q", "-f", "raw", "-O", "qcow2", "s", "d"}},
		{name: "raw ignores compress", format: "raw", compress: true, want: []string{"convert", "-q", "-f", "raw", "-O", "raw", "s", "d"}},
		{name: "stream-optimized vmdk", format: "vmdk", compress: true, want: []string{"convert", "-q", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", "s", "d"}},
		{name: "fixed vhd", format: "vhd", want: []string{"convert", "-q", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on", "s", "d"}},
		{name: "vhdx", format: "vhdx", want: []string{"convert", "-q", "-f", "raw", "-O", "vhdx", "-o", "subformat=dynamic", "s", "d"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, ok := diskformat.Lookup(tc.format)
			require.True(t, ok)
			assert.Equal(t, tc.want, f.ConvertArgs("raw", "s", tc.compress, "d"))
		})
	}
	_, ok := diskformat.Lookup("ova")
	assert.False(t, ok)
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
		t.Run(name, func(t *testing.T) {
			f, _ := diskformat.Lookup(name)
			dst := filepath.Join(dir, "image."+f.Ext)
			out, err := exec.Command(qemuImg, f.ConvertArgs("raw", src, true, dst)...).CombinedOutput()
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
