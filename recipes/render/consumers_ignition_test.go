package render_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	ignition "github.com/coreos/ignition/v2/config/v3_5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vincent-petithory/dataurl"

	"github.com/kubebake/kubebake/recipes/render"
)

// ---------------------------------------------------------------------------
// Ignition.

type consumerIgnition struct {
	files map[string]consumerIgnitionFile
	units map[string]string
}

type consumerIgnitionFile struct {
	content []byte
	mode    int
}

// ignition parses config.ign with Ignition's own parser and decodes every
// file; it is cached on the plan for the systemd and shellcheck checks.
func (cp *consumerPlan) ignition(t *testing.T) *consumerIgnition {
	t.Helper()
	if cp.ign != nil {
		return cp.ign
	}
	raw, err := os.ReadFile(filepath.Join(cp.dir, "config.ign"))
	require.NoError(t, err)
	cfg, rep, err := ignition.Parse(raw)
	require.NoError(t, err, "Ignition rejects config.ign: %s", rep.String())
	require.False(t, rep.IsFatal(), "Ignition reports:\n%s", rep.String())
	if len(rep.Entries) > 0 {
		t.Logf("Ignition reports (not fatal):\n%s", rep.String())
	}
	ign := &consumerIgnition{files: map[string]consumerIgnitionFile{}, units: map[string]string{}}
	for _, f := range cfg.Storage.Files {
		var data []byte
		if f.Contents.Source != nil {
			du, err := dataurl.DecodeString(*f.Contents.Source)
			require.NoError(t, err, "%s: contents.source is not a data URL", f.Path)
			data = du.Data
		}
		if f.Contents.Compression != nil && *f.Contents.Compression != "" {
			require.Equal(t, "gzip", *f.Contents.Compression, "%s: compression", f.Path)
			zr, err := gzip.NewReader(bytes.NewReader(data))
			require.NoError(t, err, "%s", f.Path)
			data, err = io.ReadAll(zr)
			require.NoError(t, err, "%s", f.Path)
		}
		require.NotContains(t, ign.files, f.Path, "Ignition places %s twice", f.Path)
		require.NotNil(t, f.Mode, "%s has no mode", f.Path)
		ign.files[f.Path] = consumerIgnitionFile{content: data, mode: *f.Mode}
		assert.True(t, f.Overwrite != nil && *f.Overwrite, "%s: overwrite", f.Path)
	}
	for _, u := range cfg.Systemd.Units {
		require.NotNil(t, u.Contents, "unit %s has no contents", u.Name)
		ign.units[u.Name] = *u.Contents
	}
	cp.ign = ign
	return ign
}

func checkConsumerIgnition(t *testing.T, cp *consumerPlan) {
	ign := cp.ignition(t)
	want := map[string]bool{}
	for _, f := range cp.plan.Files {
		want[f.Path] = true
		got, ok := ign.files[f.Path]
		if !assert.True(t, ok, "Ignition does not place %s", f.Path) {
			continue
		}
		assert.Equal(t, string(f.Content), string(got.content), "%s: Ignition's content differs from the plan's", f.Path)
		mode, err := strconv.ParseUint(f.Mode, 8, 32)
		require.NoError(t, err)
		assert.Equal(t, int(mode), got.mode, "%s: mode", f.Path)
	}
	var stepPaths []string
	for _, s := range cp.plan.Steps {
		p := render.StepsDir + "/" + path.Base(s.Script)
		stepPaths = append(stepPaths, p)
		want[p] = true
		got, ok := ign.files[p]
		if !assert.True(t, ok, "Ignition does not place step %s", p) {
			continue
		}
		assert.Equal(t, string(s.Body), string(got.content), "%s", p)
		assert.Equal(t, 0o755, got.mode, "%s: mode", p)
	}
	const bake = "/usr/local/libexec/kubebake/bake"
	want[bake] = true
	if b, ok := ign.files[bake]; assert.True(t, ok, "Ignition does not place %s", bake) {
		assert.Equal(t, 0o755, b.mode)
		// The bake script runs every step, in order.
		at := 0
		for _, p := range stepPaths {
			i := strings.Index(string(b.content[at:]), p)
			if !assert.GreaterOrEqual(t, i, 0, "the bake script does not run %s (in order)", p) {
				break
			}
			at += i + len(p)
		}
	}
	for p := range ign.files {
		assert.True(t, want[p], "Ignition places %s, which the plan does not list", p)
	}
	assert.Contains(t, ign.units, "kubebake-bake.service")
}
