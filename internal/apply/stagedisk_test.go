package apply

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/testutil"
	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

func stagePlan(t *testing.T) (*render.Plan, map[string]string) {
	t.Helper()
	return stagePlanWith(t, "input ")
}

// stagePlanWith renders debian-13-containerd with each input's content
// prefix followed by its name.
func stagePlanWith(t *testing.T, prefix string) (*render.Plan, map[string]string) {
	t.Helper()
	l, err := recipes.Load("debian-13-containerd")
	require.NoError(t, err)
	rn, err := render.New()
	require.NoError(t, err)
	p, err := rn.Render(l)
	require.NoError(t, err)
	dir := t.TempDir()
	in := map[string]string{}
	for _, x := range p.Inputs {
		f := filepath.Join(dir, x.Name)
		require.NoError(t, os.WriteFile(f, []byte(prefix+x.Name+"\n"), 0o600))
		in[x.Name] = f
	}
	return p, in
}

// TestStageDiskMatchesUpload: the stage disk, unpacked by the script a
// machine runs (with real bash and tar), holds exactly what uploading the
// stage file by file writes, modes included.
func TestStageDiskMatchesUpload(t *testing.T) {
	testutil.Tool(t, "tar")
	p, in := stagePlan(t)
	uploaded := t.TempDir()
	b := &Bundle{Dir: uploaded, Stage: "/var/tmp/kubebake"}
	require.NoError(t, stage(context.Background(), b, p, Options{Stage: b.Stage, Inputs: in}))

	disk := filepath.Join(t.TempDir(), "stage.tar")
	size, err := WriteStageDisk(disk, p, in)
	require.NoError(t, err)
	info, err := os.Stat(disk)
	require.NoError(t, err)
	assert.Equal(t, info.Size(), size)
	assert.Zero(t, size%512, "a disk is whole sectors")

	unpacked := filepath.Join(t.TempDir(), "stage")
	cmd := exec.Command("bash", "-c", extractStageScript(unpacked))
	cmd.Env = append(os.Environ(), "KUBEBAKE_STAGE_DISK="+disk)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	want := testutil.DirFiles(t, uploaded)
	require.NotEmpty(t, want)
	assert.Equal(t, want, testutil.DirFiles(t, unpacked))
	assert.Contains(t, want, filepath.Join("inputs", "kubebake-firstboot"))
}

// TestStageDiskMissing: with no such disk the script fails and says so.
func TestStageDiskMissing(t *testing.T) {
	cmd := exec.Command("bash", "-c", extractStageScript(t.TempDir()))
	cmd.Env = append(os.Environ(), "KUBEBAKE_STAGE_DISK=/nonexistent/stage")
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "no disk with serial kubebake-stage")
}

// TestStageDiskInputErrors: an input without a file, or one that is not a
// regular file, fails the disk by name, and nothing is left behind.
func TestStageDiskInputErrors(t *testing.T) {
	p, in := stagePlan(t)
	dir := t.TempDir()
	disk := filepath.Join(dir, "stage.tar")
	missing := map[string]string{}
	for k, v := range in {
		missing[k] = v
	}
	delete(missing, "kubebake-firstboot")
	_, err := WriteStageDisk(disk, p, missing)
	require.ErrorContains(t, err, "input kubebake-firstboot: no file given for it")
	in["kubebake-firstboot"] = dir
	_, err = WriteStageDisk(disk, p, in)
	require.ErrorContains(t, err, "input kubebake-firstboot: "+dir+" is not a regular file")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "no stage disk and no temporary file")
}

// TestApplyFromStageDisk: with StageDisk, Apply uploads nothing and runs
// the unpack script before the steps.
func TestApplyFromStageDisk(t *testing.T) {
	p, in := stagePlan(t)
	rt := &recordingTarget{}
	_, err := Apply(context.Background(), rt, p, Options{Inputs: in, StageDisk: true, Progress: io.Discard})
	require.NoError(t, err)
	assert.Zero(t, rt.uploads)
	require.NotEmpty(t, rt.scripts)
	assert.Contains(t, rt.scripts[0], "tar -x -f \"$dev\" -C /var/tmp/kubebake --no-same-owner")
	assert.Len(t, rt.scripts, len(p.Steps)+2, "unpack, the steps, then the stage removed")
}

// TestExtractStageScriptShellcheck: the unpack script passes shellcheck.
func TestExtractStageScriptShellcheck(t *testing.T) {
	bin := testutil.Tool(t, "shellcheck")
	cmd := exec.Command(bin, "-s", "bash", "-")
	cmd.Stdin = strings.NewReader("#!/bin/bash\n" + extractStageScript("/var/tmp/kubebake"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}

type recordingTarget struct {
	uploads int
	scripts []string
}

func (r *recordingTarget) Upload(context.Context, string, io.Reader, int64, os.FileMode) error {
	r.uploads++
	return nil
}

func (r *recordingTarget) Run(_ context.Context, script string, _ io.Writer) (int, error) {
	r.scripts = append(r.scripts, script)
	return 0, nil
}
