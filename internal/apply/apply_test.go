package apply_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/apply"
	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// fakeTarget records uploads and runs; a script whose step name is in
// fail exits with code 7 after printing some lines.
type fakeTarget struct {
	files map[string][]byte
	modes map[string]os.FileMode
	runs  []string
	fail  string
}

func (f *fakeTarget) Upload(_ context.Context, dst string, r io.Reader, size int64, mode os.FileMode) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(b)) != size {
		return errors.New("size mismatch")
	}
	f.files[dst], f.modes[dst] = b, mode
	return nil
}

func (f *fakeTarget) Run(_ context.Context, script string, out io.Writer) (int, error) {
	f.runs = append(f.runs, script)
	if f.fail != "" && strings.Contains(script, "-"+f.fail+".sh") {
		for i := 0; i < 60; i++ {
			io.WriteString(out, "line "+string(rune('a'+i%26))+"\n")
		}
		io.WriteString(out, "E: Unable to locate package nope")
		return 7, nil
	}
	io.WriteString(out, "ok\n")
	return 0, nil
}

func plan(t *testing.T, name string) *render.Plan {
	t.Helper()
	l, err := recipes.Load(name)
	require.NoError(t, err)
	rn, err := render.New()
	require.NoError(t, err)
	p, err := rn.Render(l)
	require.NoError(t, err)
	return p
}

func inputs(t *testing.T, p *render.Plan) map[string]string {
	t.Helper()
	dir := t.TempDir()
	m := map[string]string{}
	for _, in := range p.Inputs {
		f := filepath.Join(dir, in.Name)
		require.NoError(t, os.WriteFile(f, []byte("#!/bin/sh\necho "+in.Name+"\n"), 0o755))
		m[in.Name] = f
	}
	return m
}

func TestApplyStagesAndRunsInOrder(t *testing.T) {
	p := plan(t, "debian-13-containerd")
	ft := &fakeTarget{files: map[string][]byte{}, modes: map[string]os.FileMode{}}
	var progress bytes.Buffer
	res, err := apply.Apply(context.Background(), ft, p, apply.Options{Inputs: inputs(t, p), Progress: &progress})
	require.NoError(t, err)
	require.Len(t, res, len(p.Steps))
	for _, f := range p.Files {
		assert.Equal(t, f.Content, ft.files["/var/tmp/kubebake/rootfs"+f.Path], f.Path)
	}
	for i, s := range p.Steps {
		assert.Equal(t, s.Body, ft.files["/var/tmp/kubebake/"+s.Script])
		assert.Equal(t, os.FileMode(0o755), ft.modes["/var/tmp/kubebake/"+s.Script])
		assert.Equal(t, "KUBEBAKE_STAGE=/var/tmp/kubebake exec bash /var/tmp/kubebake/"+s.Script, ft.runs[i])
		assert.Contains(t, progress.String(), s.Name+" done in")
	}
	for _, in := range p.Inputs {
		assert.Contains(t, ft.files, "/var/tmp/kubebake/inputs/"+in.Name)
	}
	assert.Equal(t, "rm -rf /var/tmp/kubebake", ft.runs[len(ft.runs)-1], "the stage is removed at the end")
	assert.Contains(t, progress.String(), "  prepare | ok\n")
}

// stageRemoverTarget removes the stage itself.
type stageRemoverTarget struct {
	fakeTarget
	removed []string
}

func (s *stageRemoverTarget) RemoveStage(_ context.Context, stage string) error {
	s.removed = append(s.removed, stage)
	return nil
}

// TestApplyLetsTheTargetRemoveTheStage: a StageRemover removes the stage
// (a chroot's is a mount point, which rm -rf cannot remove); no script does.
func TestApplyLetsTheTargetRemoveTheStage(t *testing.T) {
	p := plan(t, "debian-13-containerd")
	st := &stageRemoverTarget{fakeTarget: fakeTarget{files: map[string][]byte{}, modes: map[string]os.FileMode{}}}
	_, err := apply.Apply(context.Background(), st, p, apply.Options{Inputs: inputs(t, p)})
	require.NoError(t, err)
	assert.Equal(t, []string{"/var/tmp/kubebake"}, st.removed)
	assert.Len(t, st.runs, len(p.Steps), "the steps ran, and nothing else")
}

// lenderTarget lends the files named in lends instead of taking uploads.
type lenderTarget struct {
	fakeTarget
	lent map[string]string
}

func (l *lenderTarget) LendFile(_ context.Context, host, dst string) (bool, error) {
	if strings.HasSuffix(dst, "/kubelet") || strings.HasSuffix(dst, "/kubeadm") {
		l.lent[dst] = host
		return true, nil
	}
	return false, nil
}

// TestApplyLendsInputs: an input the target can lend is not uploaded; one
// it cannot lend, or whose mode on this machine is not the one wanted, is.
func TestApplyLendsInputs(t *testing.T) {
	p := plan(t, "debian-13-containerd")
	in := inputs(t, p)
	require.NoError(t, os.Chmod(in["kubeadm"], 0o700))
	lt := &lenderTarget{fakeTarget: fakeTarget{files: map[string][]byte{}, modes: map[string]os.FileMode{}}, lent: map[string]string{}}
	_, err := apply.Apply(context.Background(), lt, p, apply.Options{Inputs: in})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"/var/tmp/kubebake/inputs/kubelet": in["kubelet"]}, lt.lent)
	assert.NotContains(t, lt.files, "/var/tmp/kubebake/inputs/kubelet", "a lent input is not uploaded")
	assert.Contains(t, lt.files, "/var/tmp/kubebake/inputs/kubeadm", "an input of another mode is uploaded")
	assert.Contains(t, lt.files, "/var/tmp/kubebake/inputs/kubectl", "an input the target does not lend is uploaded")
}

func TestApplyStopsAtFirstFailingStep(t *testing.T) {
	p := plan(t, "debian-13-containerd")
	ft := &fakeTarget{files: map[string][]byte{}, modes: map[string]os.FileMode{}, fail: "runtime"}
	res, err := apply.Apply(context.Background(), ft, p, apply.Options{Inputs: inputs(t, p)})
	var se *apply.StepError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "runtime", se.Step)
	assert.Equal(t, 7, se.ExitCode)
	assert.Contains(t, se.Error(), "step runtime failed with exit code 7")
	assert.Contains(t, se.Tail, "E: Unable to locate package nope")
	assert.LessOrEqual(t, strings.Count(se.Tail, "\n"), 40, "only the tail")
	assert.Equal(t, "runtime", res[len(res)-1].Name)
	for _, r := range ft.runs {
		assert.NotContains(t, r, "-kubernetes.sh", "no step after the failing one runs")
		assert.NotContains(t, r, "rm -rf", "the stage is kept for debugging")
	}
}

func TestApplyNeedsEveryInput(t *testing.T) {
	p := plan(t, "ubuntu-24.04-containerd")
	ft := &fakeTarget{files: map[string][]byte{}, modes: map[string]os.FileMode{}}
	_, err := apply.Apply(context.Background(), ft, p, apply.Options{})
	require.ErrorContains(t, err, "input kubebake-firstboot: no file given for it")
	assert.Empty(t, ft.runs, "nothing runs when staging fails")
}

func TestApplyBeforeStep(t *testing.T) {
	p := plan(t, "debian-13-containerd")
	ft := &fakeTarget{files: map[string][]byte{}, modes: map[string]os.FileMode{}}
	var seen []string
	_, err := apply.Apply(context.Background(), ft, p, apply.Options{Inputs: inputs(t, p),
		BeforeStep: func(_ context.Context, step string) error {
			seen = append(seen, step)
			if step == "seal" {
				return errors.New("node checks failed")
			}
			return nil
		}})
	require.EqualError(t, err, "node checks failed")
	require.Equal(t, "seal", seen[len(seen)-1])
	assert.Len(t, seen, len(p.Steps))
	for _, r := range ft.runs {
		assert.NotContains(t, r, "-seal.sh", "the step does not run when BeforeStep fails")
	}
}

func TestApplyStopsWhenCancelled(t *testing.T) {
	p := plan(t, "debian-13-containerd")
	ft := &fakeTarget{files: map[string][]byte{}, modes: map[string]os.FileMode{}}
	ctx, cancel := context.WithCancel(context.Background())
	res, err := apply.Apply(ctx, ft, p, apply.Options{Inputs: inputs(t, p), BeforeStep: func(_ context.Context, step string) error {
		if step == "sysctls" {
			cancel()
		}
		return nil
	}})
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "cancelled before step swap")
	assert.Len(t, res, 3, "prepare, kernel-modules and sysctls ran")
}
