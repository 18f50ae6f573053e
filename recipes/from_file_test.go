package recipes_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes"
)

// TestFromFile covers `from` naming a recipe file: chains, cycles, missing
// files and where an inherited field's error is placed.
func TestFromFile(t *testing.T) {
	t.Parallel()
	const a = header + "metadata:\n  name: pool-a\nfrom: debian-13-containerd\nnode:\n  sysctls:\n    vm.max_map_count: \"262144\"\n  packages: [jq]\n"
	tests := []struct {
		name    string
		files   map[string]string
		load    string
		check   func(t *testing.T, r *recipes.Recipe)
		wantErr string
		wantPos string
	}{
		{
			name: "a chain: built-in, then a file, then the recipe",
			files: map[string]string{
				"base/a.yaml": a,
				"b.yaml":      header + "metadata:\n  name: pool-b\nfrom: ./base/a.yaml\nnode:\n  sysctls:\n    net.core.somaxconn: \"4096\"\n  packages: [jq, htop]\n",
			},
			load: "b.yaml",
			check: func(t *testing.T, r *recipes.Recipe) {
				assert.Equal(t, "pool-b", r.Metadata.Name, "metadata is not inherited")
				assert.Equal(t, "debian", r.Base.Distro, "from the built-in")
				assert.Equal(t, "containerd", r.Runtime.Kind)
				assert.Equal(t, "262144", r.Node.Sysctls["vm.max_map_count"], "from a.yaml: maps merge")
				assert.Equal(t, "4096", r.Node.Sysctls["net.core.somaxconn"])
				assert.Equal(t, "1", r.Node.Sysctls["net.ipv4.ip_forward"], "from the built-in's defaults")
				assert.Equal(t, []string{"jq", "htop"}, r.Node.Packages, "lists replace")
			},
		},
		{
			name: "a file's own from is relative to that file",
			files: map[string]string{
				"base/a.yaml":   a,
				"base/mid.yaml": header + "from: a.yaml\nnode:\n  packages: [curl]\n",
				"c.yaml":        header + "from: base/mid.yaml\n",
			},
			load: "c.yaml",
			check: func(t *testing.T, r *recipes.Recipe) {
				assert.Equal(t, "c", r.Metadata.Name, "the file's name, not an ancestor's")
				assert.Equal(t, []string{"curl"}, r.Node.Packages)
				assert.Equal(t, "262144", r.Node.Sysctls["vm.max_map_count"])
			},
		},
		{
			name: "a cycle is refused",
			files: map[string]string{
				"x.yaml": header + "from: ./y.yaml\n",
				"y.yaml": header + "from: ./x.yaml\n",
			},
			load:    "x.yaml",
			wantErr: "makes a cycle",
			wantPos: "y.yaml:3:7",
		},
		{
			name:    "a missing file is named at the from line",
			files:   map[string]string{"b.yaml": header + "from: ./nope.yaml\n"},
			load:    "b.yaml",
			wantErr: `recipe file "./nope.yaml"`,
			wantPos: "b.yaml:3:7",
		},
		{
			name: "an error inherited from a file is placed in that file",
			files: map[string]string{
				"a.yaml": header + "from: debian-13-containerd\nruntime:\n  kind: rkt\n",
				"b.yaml": header + "from: ./a.yaml\n",
			},
			load:    "b.yaml",
			wantErr: "rkt",
			wantPos: "a.yaml:5:9",
		},
		{
			name:    "an unknown built-in says how to name a file",
			files:   map[string]string{"b.yaml": header + "from: pool-a\n"},
			load:    "b.yaml",
			wantErr: "./pool-a.yaml",
			wantPos: "b.yaml:3:7",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, content := range tc.files {
				p := filepath.Join(dir, name)
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
			}
			l, err := recipes.Load(filepath.Join(dir, tc.load))
			if tc.wantErr == "" {
				require.NoError(t, err)
				tc.check(t, l.Recipe)
				return
			}
			require.Error(t, err)
			require.NotNil(t, l)
			errs := l.Report.Errors()
			require.NotEmpty(t, errs)
			assert.Contains(t, errs[0].Message, tc.wantErr, l.Report.String())
			assert.Equal(t, filepath.Join(dir, tc.wantPos), errs[0].Pos.String(), l.Report.String())
		})
	}
}
