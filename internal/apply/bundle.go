package apply

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/kubebake/kubebake/internal/shell"
	"github.com/kubebake/kubebake/recipes/render"
)

// Bundle is a Target that applies nothing: it writes the staged plan into a
// directory and the commands that would run into a script, run.sh. Put the
// directory on a disk, mount it at Stage on a machine and run run.sh there,
// and the machine gets what a bake gives, at boot instead (the baseline a
// baked image is measured against).
type Bundle struct {
	// Dir is the host directory that stands for Stage.
	Dir string
	// Stage is where Dir will be mounted on the machine.
	Stage  string
	script bytes.Buffer
}

// Upload writes a file under Dir.
func (b *Bundle) Upload(_ context.Context, dst string, content io.Reader, _ int64, mode os.FileMode) error {
	rel, ok := strings.CutPrefix(path.Clean(dst), path.Clean(b.Stage)+"/")
	if !ok {
		return fmt.Errorf("bundle: %s is outside the stage %s", dst, b.Stage)
	}
	return writeFile(filepath.Join(b.Dir, filepath.FromSlash(rel)), content, mode)
}

// Run records script; every recorded command must succeed when run.sh runs.
func (b *Bundle) Run(_ context.Context, script string, _ io.Writer) (int, error) {
	fmt.Fprintf(&b.script, "printf 'kubebake-bundle: %%s %%s\\n' \"$(date +%%T)\" %s\n(%s)\n", shell.Quote(script), script)
	return 0, nil
}

// WriteBundle writes p's staged files, steps and inputs to dir, for
// mounting at stage, and dir/run.sh, which runs the steps in order and
// stops at the first failure. Steps named in skip are left out (a bundle
// applied at boot keeps the machine's identity: no seal).
func WriteBundle(ctx context.Context, p *render.Plan, dir, stage string, inputs map[string]string, skip ...string) error {
	q := *p
	q.Steps = nil
	for _, s := range p.Steps {
		if !contains(skip, s.Name) {
			q.Steps = append(q.Steps, s)
		}
	}
	b := &Bundle{Dir: dir, Stage: stage}
	if _, err := Apply(ctx, b, &q, Options{Stage: stage, Inputs: inputs, KeepStage: true}); err != nil {
		return err
	}
	run := "#!/bin/bash\n# Applies the kubebake plan " + p.Recipe + " staged beside this script.\nset -euo pipefail\n" + b.script.String()
	return os.WriteFile(filepath.Join(dir, "run.sh"), []byte(run), 0o755)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
