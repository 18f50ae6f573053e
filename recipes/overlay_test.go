package recipes_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes"
)

func TestLoadWithOverlay(t *testing.T) {
	tests := []struct {
		name    string
		ref     string
		overlay string
		check   func(t *testing.T, r *recipes.Recipe)
		wantErr string
	}{
		{
			name:    "version override re-derives the defaults",
			ref:     "ubuntu-24.04-containerd",
			overlay: "kubernetes: {version: v1.35.4}\n",
			check: func(t *testing.T, r *recipes.Recipe) {
				assert.Equal(t, "v1.35.4", r.Kubernetes.Version)
				assert.Equal(t, "v1.35.0", r.Kubernetes.CrictlVersion, "crictl follows the overridden minor")
				assert.Equal(t, "containerd", r.Runtime.Kind, "the rest of the recipe stays")
			},
		},
		{
			name:    "lists replace and maps merge",
			ref:     "debian-13-containerd",
			overlay: "images:\n  extra:\n    - name: registry.example.com/agent:1.2.3\nnode:\n  sysctls: {vm.max_map_count: \"262144\"}\n",
			check: func(t *testing.T, r *recipes.Recipe) {
				require.Len(t, r.Images.Extra, 1)
				assert.Equal(t, "registry.example.com/agent:1.2.3", r.Images.Extra[0].Name)
				assert.Equal(t, "262144", r.Node.Sysctls["vm.max_map_count"])
			},
		},
		{
			name:    "unknown field in the overlay is named with the overlay",
			ref:     "debian-13-containerd",
			overlay: "kubernetes: {vesion: v1.35.4}\n",
			wantErr: "overrides:1:14: kubernetes.vesion",
		},
		{
			name:    "an invalid value is reported by validation",
			ref:     "debian-13-containerd",
			overlay: "runtime: {kind: podman}\n",
			wantErr: "runtime.kind",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := recipes.LoadWith(tc.ref, recipes.Overlay{Source: "overrides", Data: []byte(tc.overlay)})
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, l.Recipe)
		})
	}
}

func TestImageArchives(t *testing.T) {
	tests := []struct {
		name, overlay, wantErr string
	}{
		{"good", "images: {archives: [/srv/images/a.tar, /srv/other/b.tar]}\n", ""},
		{"relative", "images: {archives: [images/a.tar]}\n", "images.archives[0]: \"images/a.tar\" must be a clean absolute path"},
		{"not a tar", "images: {archives: [/srv/a.tar.gz]}\n", "images.archives[0]: \"/srv/a.tar.gz\" must be a .tar image archive"},
		{"same file name", "images: {archives: [/srv/a.tar, /srv/x/a.tar]}\n", "images.archives[1]: \"/srv/x/a.tar\" has the same file name as images.archives[0]"},
		{"hostile", "images: {archives: [\"/srv/$(reboot).tar\"]}\n", "images.archives[0]"},
		{"cri-o", "runtime: {kind: cri-o}\nimages: {archives: [/srv/a.tar]}\n", "CRI-O is not supported yet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := recipes.LoadWith("ubuntu-24.04-containerd", recipes.Overlay{Source: "o", Data: []byte(tc.overlay)})
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}
