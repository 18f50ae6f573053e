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
		{"cri-o", "runtime: {kind: cri-o}\nimages: {archives: [/srv/a.tar]}\n", ""},
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

// TestOverlayPositions places each report entry in the overlay that set
// its field, and leaves entries on fields the overlay did not set where
// they are.
func TestOverlayPositions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		overlay recipes.Overlay
		want    []string
	}{
		{
			name:    "a hand-written overlay gives line and column",
			overlay: recipes.Overlay{Source: "overrides.yaml", Data: []byte("runtime:\n  kind: podman\n")},
			want:    []string{`overrides.yaml:2:9: runtime.kind: unknown runtime "podman" (want containerd, cri-o or docker)`},
		},
		{
			name: "a generated overlay gives its source alone",
			overlay: mustFieldOverlay(t, "--kubernetes-binaries-dir",
				recipes.Field{Path: "kubernetes.local.dir", Value: "relative"}),
			want: []string{`--kubernetes-binaries-dir: kubernetes.local.dir: "relative" is a relative path; it must be absolute`},
		},
		{
			name: "a list set by the overlay owns the entries of its items",
			overlay: mustFieldOverlay(t, "overrides",
				recipes.Field{Path: "node.kernelModules", Value: []string{"overlay", "bad module"}}),
			want: []string{`overrides: node.kernelModules[1]: "bad module" is not a module name (letters, digits, '_' and '-')`},
		},
		{
			name: "a map the overlay merges into does not own the recipe's own keys",
			overlay: mustFieldOverlay(t, "overrides",
				recipes.Field{Path: "kubernetes.version", Value: "v9.1.0"}),
			want: []string{`overrides: kubernetes.version: Kubernetes 9.1 is not supported (supported minors: 1.32, 1.33, 1.34, 1.35, 1.36, 1.37)`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := recipes.LoadWith("debian-13-containerd", tc.overlay)
			require.Error(t, err)
			var got []string
			for _, e := range l.Report.Errors() {
				got = append(got, e.String())
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func mustFieldOverlay(t *testing.T, source string, fields ...recipes.Field) recipes.Overlay {
	t.Helper()
	o, err := recipes.FieldOverlay(source, fields...)
	require.NoError(t, err)
	return o
}
