package render_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// TestLoadOverlays lays flag overlays over a recipe before validation: the
// plan's inputs come from the given directories, and a bad value is
// reported once, placed at the flag that set it.
func TestLoadOverlays(t *testing.T) {
	t.Parallel()
	k8s, err := recipes.FieldOverlay("--kubernetes-binaries-dir", recipes.Field{Path: "kubernetes.local.dir", Value: "/srv/k8s"})
	require.NoError(t, err)
	cri, err := recipes.FieldOverlay("--cri-dockerd-dir", recipes.Field{Path: "runtime.criDockerd.dir", Value: "/srv/cri-dockerd"})
	require.NoError(t, err)
	p, _, err := render.Load("debian-13-docker", k8s, cri)
	require.NoError(t, err)
	inputs := map[string]string{}
	for _, in := range p.Inputs {
		inputs[in.Name] = in.HostPath
	}
	assert.Equal(t, "/srv/k8s/kubeadm", inputs["kubeadm"])
	assert.Equal(t, "/srv/cri-dockerd/cri-dockerd", inputs["cri-dockerd"])

	bad, err := recipes.FieldOverlay("--kubernetes-binaries-dir", recipes.Field{Path: "kubernetes.local.dir", Value: "relative/dir"})
	require.NoError(t, err)
	_, l, err := render.Load("debian-13-containerd", bad)
	var inv *recipes.InvalidError
	require.ErrorAs(t, err, &inv)
	require.Len(t, l.Report.Errors(), 1)
	assert.Equal(t, `--kubernetes-binaries-dir: kubernetes.local.dir: "relative/dir" is a relative path; it must be absolute`,
		l.Report.Errors()[0].String())
}

// TestLoadPreRelease accepts a Kubernetes pre-release where the source can
// serve it (binaries, local) and refuses it for packages.
func TestLoadPreRelease(t *testing.T) {
	t.Parallel()
	rc := func(source string) recipes.Overlay {
		o, err := recipes.FieldOverlay("test", recipes.Field{Path: "kubernetes.version", Value: "v1.37.0-rc.1"},
			recipes.Field{Path: "kubernetes.source", Value: source})
		require.NoError(t, err)
		return o
	}
	p, _, err := render.Load("ubuntu-24.04-containerd", rc(recipes.SourceBinaries))
	require.NoError(t, err)
	assert.Equal(t, "v1.37.0-rc.1", p.Kubernetes.Version)
	assert.Contains(t, p.Images, api.Image{Name: "registry.k8s.io/kube-apiserver:v1.37.0-rc.1", Pinned: true})
	var found bool
	for _, s := range p.Steps {
		if s.Name == "kubernetes" {
			found = true
			assert.Contains(t, string(s.Body), "/v1.37.0-rc.1/bin/linux/amd64/kubeadm")
		}
	}
	assert.True(t, found)

	_, l, err := render.Load("ubuntu-24.04-containerd", rc(recipes.SourcePackages))
	require.Error(t, err)
	require.Len(t, l.Report.Errors(), 1)
	assert.Contains(t, l.Report.Errors()[0].String(), "kubernetes.version: v1.37.0-rc.1 is a pre-release: pkgs.k8s.io has no packages of it")
}
