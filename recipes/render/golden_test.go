package render_test

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/render")

// goldenDir is where each built-in recipe's written plan is kept.
func goldenDir(name string) string {
	return filepath.Join("..", "..", "testdata", "render", name)
}

// renderBuiltin loads and renders a built-in recipe.
func renderBuiltin(t testing.TB, rn *render.Renderer, name string) *render.Plan {
	t.Helper()
	l, err := recipes.Load(name)
	require.NoError(t, err)
	p, err := rn.Render(l)
	require.NoError(t, err)
	return p
}

// readTree maps every file below root (slash paths) to its content. Modes
// are compared through plan.json, since git keeps only the executable bit.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	require.NoError(t, err)
	return out
}

// TestGolden compares the written plan of every built-in recipe with its
// golden copy. Refresh with: go test ./recipes/render -run TestGolden -update
func TestGolden(t *testing.T) {
	rn, err := render.New()
	require.NoError(t, err)
	for _, name := range recipes.BuiltinNames() {
		t.Run(name, func(t *testing.T) {
			p := renderBuiltin(t, rn, name)
			got := filepath.Join(t.TempDir(), "plan")
			require.NoError(t, render.Write(p, got))
			golden := goldenDir(name)
			if *update {
				require.NoError(t, os.RemoveAll(golden))
				require.NoError(t, render.Write(p, golden))
			}
			want := readTree(t, golden)
			have := readTree(t, got)
			for path := range want {
				require.Contains(t, have, path, "%s is in the golden plan but no longer rendered", path)
			}
			for path, content := range have {
				require.Contains(t, want, path, "%s is rendered but not in the golden plan (run with -update)", path)
				require.Equal(t, want[path], content, "%s differs from its golden copy (run with -update and review the diff)", path)
			}
		})
	}
}
