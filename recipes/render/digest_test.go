package render_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

func overlay(t *testing.T, fields ...recipes.Field) recipes.Overlay {
	t.Helper()
	o, err := recipes.FieldOverlay("test", fields...)
	require.NoError(t, err)
	return o
}

// TestPlanDigest: the digest is the plan's identity: the same for the same
// image content, whatever the build host's paths; different for anything
// the image receives; and recorded in image.json.
func TestPlanDigest(t *testing.T) {
	t.Parallel()
	base := loadPlan(t, "debian-13-containerd")
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, base.Digest())
	assert.Equal(t, base.Digest(), loadPlan(t, "debian-13-containerd").Digest(), "rendering is deterministic")

	local := func(dir string) *render.Plan {
		return loadPlan(t, "debian-13-containerd", overlay(t, recipes.Field{Path: "kubernetes.local.dir", Value: dir}))
	}
	assert.Equal(t, local("/a/bin").Digest(), local("/b/bin").Digest(), "host paths of inputs are not the image's content")

	for name, o := range map[string]recipes.Overlay{
		"a sysctl":      overlay(t, recipes.Field{Path: "node.sysctls", Value: map[string]string{"vm.max_map_count": "262144"}}),
		"a package":     overlay(t, recipes.Field{Path: "node.packages", Value: []string{"htop"}}),
		"another image": overlay(t, recipes.Field{Path: "images.extra", Value: []map[string]string{{"name": "docker.io/library/nginx:1.27"}}}),
	} {
		assert.NotEqual(t, base.Digest(), loadPlan(t, "debian-13-containerd", o).Digest(), name)
	}

	for _, ref := range []string{"debian-13-containerd", "fedora-coreos-cri-o"} {
		p := loadPlan(t, ref)
		var info api.ImageInfo
		for _, f := range p.Files {
			if f.Path == api.ImageInfoPath {
				require.NoError(t, json.Unmarshal(f.Content, &info))
				assert.Equal(t, len(f.Content), f.Size)
			}
		}
		assert.Equal(t, p.Digest(), info.PlanDigest, "%s: image.json records the digest", ref)
		if p.Butane != nil {
			assert.Contains(t, string(p.Butane), `"planDigest": "`+p.Digest()+`"`, "%s: the Butane config carries the final image.json", ref)
		}
	}
}
