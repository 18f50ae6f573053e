package imagetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/testutil"
	"github.com/kubebake/kubebake/recipes"
)

// TestHoldCheck runs the hold check against stand-ins of apt-mark,
// dpkg-query, dnf and rpm that print what a node would.
func TestHoldCheck(t *testing.T) {
	t.Parallel()
	assert.Empty(t, holdCheck(recipes.FamilyFCOS, "v1.36.3"), "rpm-ostree has no hold")
	sc := testutil.Tool(t, "shellcheck")
	for _, f := range []recipes.Family{recipes.FamilyApt, recipes.FamilyDnf} {
		p := filepath.Join(t.TempDir(), "hold.sh")
		require.NoError(t, os.WriteFile(p, []byte("#!/bin/bash\n"+holdCheck(f, "v1.36.3")+"\n"), 0o755))
		out, err := exec.Command(sc, "--norc", "-S", "warning", p).CombinedOutput()
		assert.NoError(t, err, "%s:\n%s", f, out)
	}
	tests := []struct {
		name   string
		family recipes.Family
		stubs  map[string]string
		want   string // empty: the check passes
	}{
		{name: "apt held", family: recipes.FamilyApt, stubs: map[string]string{
			"apt-mark":   "printf 'cri-tools\\nkubeadm\\nkubectl\\nkubelet\\n'",
			"dpkg-query": "echo -n 1.36.3-1.1",
		}},
		{name: "apt cri-tools not held", family: recipes.FamilyApt, stubs: map[string]string{
			"apt-mark":   "printf 'kubeadm\\nkubectl\\nkubelet\\n'",
			"dpkg-query": "echo -n 1.36.3-1.1",
		}, want: "cri-tools is not held"},
		{name: "apt another version", family: recipes.FamilyApt, stubs: map[string]string{
			"apt-mark":   "printf 'cri-tools\\nkubeadm\\nkubectl\\nkubelet\\n'",
			"dpkg-query": "echo -n 1.36.30-1.1",
		}, want: "kubelet is at 1.36.30-1.1, not 1.36.3"},
		{name: "apt kubelet not installed", family: recipes.FamilyApt, stubs: map[string]string{
			"apt-mark":   "printf 'cri-tools\\nkubeadm\\nkubectl\\nkubelet\\n'",
			"dpkg-query": "echo 'dpkg-query: no packages found matching kubelet' >&2; exit 1",
		}, want: "no packages found"},
		{name: "dnf locked", family: recipes.FamilyDnf, stubs: map[string]string{
			"dnf": "printf 'kubelet-0:1.36.3-150500.1.1.*\\nkubeadm-0:1.36.3-150500.1.1.*\\nkubectl-0:1.36.3-150500.1.1.*\\ncri-tools-0:1.36.0-150500.1.1.*\\n'",
			"rpm": "echo -n 1.36.3",
		}},
		{name: "dnf kubectl not locked", family: recipes.FamilyDnf, stubs: map[string]string{
			"dnf": "printf 'kubelet-0:1.36.3-150500.1.1.*\\nkubeadm-0:1.36.3-150500.1.1.*\\ncri-tools-0:1.36.0-150500.1.1.*\\n'",
			"rpm": "echo -n 1.36.3",
		}, want: "kubectl is not locked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for name, body := range tc.stubs {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/bash\n"+body+"\n"), 0o755))
			}
			cmd := exec.Command("bash", "-c", holdCheck(tc.family, "v1.36.3"))
			cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
			out, err := cmd.CombinedOutput()
			if tc.want == "" {
				assert.NoError(t, err, "%s", out)
				return
			}
			assert.Error(t, err)
			assert.Contains(t, string(out), tc.want)
		})
	}
}
