package render_test

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes"
)

// ---------------------------------------------------------------------------
// shellcheck.

func consumerShellcheck(bin, file string) (string, error) {
	stdout, stderr, err := consumerRun(bin, "--norc", "--shell=bash", "--severity=style", "--color=never", file)
	out := strings.TrimSpace(stdout + stderr)
	if err == nil && out != "" {
		err = fmt.Errorf("shellcheck printed findings")
	}
	return out, err
}

func checkConsumerShellcheck(t *testing.T, cp *consumerPlan) {
	bin := consumerBinary(t, "shellcheck")
	for _, s := range cp.plan.Steps {
		t.Run(path.Base(s.Script), func(t *testing.T) {
			out, err := consumerShellcheck(bin, filepath.Join(cp.dir, filepath.FromSlash(s.Script)))
			assert.NoError(t, err, "shellcheck -s bash finds problems in %s:\n%s", s.Script, out)
		})
	}
	if cp.plan.Family == recipes.FamilyFCOS {
		t.Run("bake", func(t *testing.T) {
			const bake = "/usr/local/libexec/kubebake/bake"
			f, ok := cp.ignition(t).files[bake]
			require.True(t, ok, "Ignition does not place %s", bake)
			p := filepath.Join(t.TempDir(), "bake")
			require.NoError(t, os.WriteFile(p, f.content, 0o755))
			out, err := consumerShellcheck(bin, p)
			assert.NoError(t, err, "shellcheck -s bash finds problems in %s:\n%s", bake, out)
		})
	}
}
