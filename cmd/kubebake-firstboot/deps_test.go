package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSmallDependencies keeps kubebake-firstboot small and static: it must
// not import Packer, cobra, the provisioners, the renderer, Butane or
// Kubernetes itself.
func TestSmallDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	require.NoError(t, err)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/kubebake/kubebake/firstboot")
	for _, dep := range deps {
		for _, banned := range []string{
			"github.com/hashicorp/", "github.com/spf13/cobra", "github.com/kubebake/kubebake/provisioners",
			"github.com/kubebake/kubebake/builder", "github.com/kubebake/kubebake/recipes", "github.com/coreos/",
			"k8s.io/", "github.com/diskfs/",
		} {
			require.False(t, strings.HasPrefix(dep, banned), "kubebake-firstboot imports %s", dep)
		}
	}
}
