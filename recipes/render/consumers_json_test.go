package render_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// ---------------------------------------------------------------------------
// plan.json and image.json.

func checkConsumerPlanJSON(t *testing.T, cp *consumerPlan) {
	raw, err := os.ReadFile(filepath.Join(cp.dir, "plan.json"))
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var got render.Plan
	require.NoError(t, dec.Decode(&got), "plan.json does not decode into render.Plan")

	want := *cp.plan
	want.Butane, want.Ignition = nil, nil
	want.Files = append([]render.File(nil), cp.plan.Files...)
	for i := range want.Files {
		want.Files[i].Content = nil
	}
	want.Steps = append([]render.Step(nil), cp.plan.Steps...)
	for i := range want.Steps {
		want.Steps[i].Body = nil
	}
	require.Equal(t, want, got, "plan.json does not round-trip")

	// Everything written is listed, and everything listed is written with
	// its content, size, digest and mode.
	listed := map[string]bool{"plan.json": true}
	for _, s := range got.Steps {
		listed[s.Script] = true
		body := consumerStep(t, cp, s.Name).Body
		consumerAssertWritten(t, filepath.Join(cp.dir, filepath.FromSlash(s.Script)), body, 0o755)
		for _, p := range s.Files {
			assert.Contains(t, cp.files, p, "step %s places %s, which plan.json does not list", s.Name, p)
		}
	}
	for _, f := range got.Files {
		listed["rootfs"+f.Path] = true
		content := cp.files[f.Path].Content
		assert.Equal(t, len(content), f.Size, "%s: size", f.Path)
		assert.Equal(t, consumerSHA256(content), f.SHA256, "%s: sha256", f.Path)
		mode, err := strconv.ParseUint(f.Mode, 8, 32)
		require.NoError(t, err, "%s: mode %q", f.Path, f.Mode)
		consumerAssertWritten(t, cp.rootfs(f.Path), content, fs.FileMode(mode)&fs.ModePerm)
	}
	if cp.plan.Family == recipes.FamilyFCOS {
		listed["config.bu"], listed["config.ign"] = true, true
	}
	err = filepath.WalkDir(cp.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(cp.dir, p)
		assert.True(t, listed[filepath.ToSlash(rel)], "%s is written but plan.json does not list it", rel)
		return nil
	})
	require.NoError(t, err)
}

func consumerStep(t *testing.T, cp *consumerPlan, name string) render.Step {
	t.Helper()
	for _, s := range cp.plan.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %s", name)
	return render.Step{}
}

func consumerAssertWritten(t *testing.T, p string, content []byte, mode fs.FileMode) {
	t.Helper()
	got, err := os.ReadFile(p)
	if !assert.NoError(t, err) {
		return
	}
	assert.Equal(t, string(content), string(got), "%s: content", p)
	fi, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, mode, fi.Mode().Perm(), "%s: mode", p)
}

func consumerSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func checkConsumerImageJSON(t *testing.T, cp *consumerPlan) {
	f := cp.file(t, "/etc/kubebake/image.json")
	var info api.ImageInfo
	dec := json.NewDecoder(bytes.NewReader(f.Content))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&info))
	assert.Equal(t, cp.plan.Runtime.Endpoint, info.CRISocket)
	assert.Equal(t, "systemd", info.CgroupDriver)
	assert.Equal(t, cp.plan.Runtime.SandboxImage, info.SandboxImage)
	assert.Equal(t, cp.plan.Kubernetes.Version, info.KubernetesVersion)
	assert.Equal(t, cp.plan.Runtime.Kind, info.Runtime)
	assert.Equal(t, cp.plan.Images, info.Images)
}
