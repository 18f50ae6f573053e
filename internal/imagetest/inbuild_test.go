package imagetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

func renderBuiltin(t *testing.T, name string) *render.Plan {
	t.Helper()
	l, err := recipes.Load(name)
	require.NoError(t, err)
	rn, err := render.New()
	require.NoError(t, err)
	p, err := rn.Render(l)
	require.NoError(t, err)
	return p
}

// TestInBuildScriptFromPlan derives the expectations from the plan's own
// files and runs the script with bash against stand-in commands: results
// arrive on standard output and Results accounts for every one.
func TestInBuildScriptFromPlan(t *testing.T) {
	t.Parallel()
	p := renderBuiltin(t, "ubuntu-24.04-containerd")
	script, err := InBuildScript(p)
	require.NoError(t, err)
	s := string(script)
	assert.Contains(t, s, "CONSOLE=/dev/stdout")
	assert.Contains(t, s, "systemctl restart containerd.service")
	assert.Contains(t, s, "check module-br_netfilter")
	assert.Contains(t, s, "check sysctl-net.ipv4.ip_forward")
	assert.Contains(t, s, "check kubelet-version \"kubelet "+p.Kubernetes.Version+"\"")
	for _, img := range p.Images {
		assert.Contains(t, s, "check image-"+img.Name)
	}
	assert.NotContains(t, s, "firstboot-no-config")
	assert.NotContains(t, s, "poweroff")

	dir := t.TempDir()
	s = strings.Replace(s, "export PATH=", "export PATH="+dir+":", 1)
	s = strings.Replace(s, "seq 1 120", "seq 1 1", 1)
	for _, stub := range []string{"systemctl", "kubeadm", "kubelet", "kubectl", "crictl", "containerd", "sysctl"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, stub), []byte("#!/bin/sh\nexit 1\n"), 0o755))
	}
	f := filepath.Join(dir, "check.sh")
	require.NoError(t, os.WriteFile(f, []byte(s), 0o755))
	out, err := exec.Command("bash", f).Output()
	require.NoError(t, err)
	checks, err := Results(out)
	require.NoError(t, err)
	require.NotEmpty(t, checks)
	byName := map[string]bool{}
	for _, c := range checks {
		byName[c.Name] = c.Passed
	}
	assert.Contains(t, byName, "kubeadm-preflight")
	assert.False(t, byName["kubelet-version"], "the stand-in kubelet fails")
}

func TestResults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		out     string
		want    int
		wantErr string
	}{
		{name: "complete", out: "noise\nKUBEBAKE-CHECK PASS a one\nKUBEBAKE-CHECK FAIL b two: why\nKUBEBAKE-TEST-DONE 2\n", want: 2},
		{name: "lost result", out: "KUBEBAKE-CHECK PASS a one\nKUBEBAKE-TEST-DONE 2\n", want: 1, wantErr: "ran 2 checks, 1 results arrived"},
		{name: "unfinished", out: "KUBEBAKE-CHECK PASS a one\n", want: 1, wantErr: "did not finish"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checks, err := Results([]byte(tc.out))
			assert.Len(t, checks, tc.want)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
		})
	}
}
