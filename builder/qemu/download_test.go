package qemu

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSourceImageURL downloads the source image from a local HTTP server
// through Packer's download step (cache, checksum), then bakes with the
// mock driver; a wrong checksum fails the build before anything boots.
func TestSourceImageURL(t *testing.T) {
	src := sourceImage(t)
	sum := sha256Hex(t, src)
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(src))))
	defer srv.Close()
	t.Setenv("PACKER_CACHE_DIR", t.TempDir())
	t.Setenv("PACKER_TMP_DIR", t.TempDir())
	fb := filepath.Join(t.TempDir(), "kubebake-firstboot")
	require.NoError(t, os.WriteFile(fb, []byte("firstboot"), 0o755))

	for _, tc := range []struct {
		name, checksum, wantErr string
	}{
		{"right checksum", "sha256:" + sum, ""},
		{"wrong checksum", "sha256:" + strings.Repeat("0", 64), "Checksums did not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			d := &mockDriver{console: "kubebake-bake: SUCCESS\n", accel: "tcg"}
			b := &Builder{driver: d}
			_, _, err := b.Prepare(map[string]interface{}{
				"source_image": srv.URL + "/base.qcow2", "source_image_checksum": tc.checksum,
				"output_directory": out, "ignition_recipe": "fedora-coreos-cri-o", "firstboot_binary": fb,
			})
			require.NoError(t, err)
			ui, uiOut := recordingUI()
			_, err = b.Run(context.Background(), ui, nil)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Empty(t, d.started, "nothing boots")
				return
			}
			require.NoError(t, err, uiOut.String())
			require.NotEmpty(t, d.calls)
			info := d.calls[0]
			require.Equal(t, "info", info[0])
			got, err := os.ReadFile(info[1])
			require.NoError(t, err)
			assert.Equal(t, "qcow2 bytes", string(got), "the overlay is made over the downloaded copy")
		})
	}
}
