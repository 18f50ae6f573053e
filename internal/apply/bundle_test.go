package apply

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes/render"
)

// TestWriteBundle runs the bundle's run.sh for real against a plan whose
// steps write into a temp directory: the steps run in order, from the
// mounted stage, with their inputs, and the skipped step does not.
func TestWriteBundle(t *testing.T) {
	out := t.TempDir()
	input := filepath.Join(t.TempDir(), "tool")
	require.NoError(t, os.WriteFile(input, []byte("payload\n"), 0o644))
	step := func(name, body string) render.Step {
		return render.Step{Name: name, Script: "steps/" + name + ".sh", Body: []byte("set -eu\n" + body + "\n")}
	}
	p := &render.Plan{
		Recipe: "test",
		Files:  []render.File{{Path: "/etc/demo.conf", Mode: "0640", Content: []byte("demo\n")}},
		Steps: []render.Step{
			step("first", `cp "$KUBEBAKE_STAGE/rootfs/etc/demo.conf" `+out+`/1`),
			step("second", `cat "$KUBEBAKE_STAGE/inputs/tool" >`+out+`/2`),
			step("seal", `touch `+out+`/sealed`),
		},
		Inputs: []render.Input{{Name: "tool", Mode: "0755"}},
	}
	dir := t.TempDir()
	require.NoError(t, WriteBundle(context.Background(), p, dir, dir, map[string]string{"tool": input}, "seal"))
	fi, err := os.Stat(filepath.Join(dir, "rootfs/etc/demo.conf"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
	fi, err = os.Stat(filepath.Join(dir, "inputs/tool"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm())

	res, err := exec.Command("bash", filepath.Join(dir, "run.sh")).CombinedOutput()
	require.NoError(t, err, "%s", res)
	assert.Equal(t, 2, strings.Count(string(res), "kubebake-bundle: "), "%s", res)
	b, err := os.ReadFile(filepath.Join(out, "1"))
	require.NoError(t, err)
	assert.Equal(t, "demo\n", string(b))
	b, err = os.ReadFile(filepath.Join(out, "2"))
	require.NoError(t, err)
	assert.Equal(t, "payload\n", string(b))
	assert.NoFileExists(t, filepath.Join(out, "sealed"))

	// A failing step stops run.sh.
	p.Steps[0] = step("first", "exit 3")
	dir = t.TempDir()
	require.NoError(t, WriteBundle(context.Background(), p, dir, dir, map[string]string{"tool": input}, "seal"))
	require.NoError(t, os.Remove(filepath.Join(out, "2")))
	err = exec.Command("bash", filepath.Join(dir, "run.sh")).Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 3, exit.ExitCode())
	assert.NoFileExists(t, filepath.Join(out, "2"))

	// Uploads outside the stage are refused.
	bu := &Bundle{Dir: t.TempDir(), Stage: "/var/tmp/kubebake"}
	require.ErrorContains(t, bu.Upload(context.Background(), "/etc/passwd", strings.NewReader("x"), 1, 0o644), "outside the stage")
}
