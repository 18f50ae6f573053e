package bake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/apply"
	"github.com/kubebake/kubebake/internal/sbom"
	"github.com/kubebake/kubebake/internal/testutil"
	"github.com/kubebake/kubebake/recipes/render"
)

// hostTarget runs scripts with bash on this machine, with bin first on
// the script's PATH: a stand-in for the chroot (combined output, Run
// only).
type hostTarget struct{ bin string }

func (h hostTarget) Upload(context.Context, string, io.Reader, int64, os.FileMode) error {
	return fmt.Errorf("not here")
}

func (h hostTarget) Run(ctx context.Context, script string, out io.Writer) (int, error) {
	cmd := exec.CommandContext(ctx, "bash", "-c", strings.Replace(script, "export PATH=", "export PATH="+h.bin+":", 1))
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode(), nil
	}
	return 0, err
}

// hostSSH is the same machine as the SSH target: Output returns standard
// output alone, and standard error in its error.
type hostSSH struct{ hostTarget }

func (h hostSSH) Output(ctx context.Context, script string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", "-c", strings.Replace(script, "export PATH=", "export PATH="+h.bin+":", 1))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// stubBins writes stand-ins for the plan's binaries that print what each
// prints for its version option (kubectl prints nothing) and returns their
// directory and sums.
func stubBins(t *testing.T, names ...string) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	out := map[string]string{
		"kubeadm": "v1.36.3", "kubelet": "Kubernetes v1.36.3", "crictl": "crictl version v1.36.0",
		"containerd": "containerd github.com/containerd/containerd 1.7.24~ds1 1.7.24~ds1-6+b3", "runc": "runc version 1.1.15+ds1",
	}
	sums := map[string]string{}
	for _, n := range names {
		body := fmt.Sprintf("#!/bin/sh\necho '%s' >&2\necho '%s'\n", "warning: "+n+" chatter", out[n])
		if n == "kubectl" {
			body = "#!/bin/sh\nexit 1\n"
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte(body), 0o755))
		s := sha256.Sum256([]byte(body))
		sums[n] = hex.EncodeToString(s[:])
	}
	return dir, sums
}

// TestCollectInventory gathers the inventory for a plan through both kinds
// of target, with this machine's dpkg database and stand-in binaries: the
// binaries' paths, sums and versions are read, kubectl (which printed no
// version) gets the plan's, and a missing binary fails the bake naming it.
func TestCollectInventory(t *testing.T) {
	t.Parallel()
	testutil.Tool(t, "dpkg-query")
	p, _, err := render.Load("debian-13-containerd")
	require.NoError(t, err)
	dir, sums := stubBins(t, "kubeadm", "kubelet", "kubectl", "crictl", "containerd", "runc")
	for name, target := range map[string]apply.Target{"chroot": hostTarget{bin: dir}, "ssh": hostSSH{hostTarget{bin: dir}}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			inv, err := collectInventory(context.Background(), target, p)
			require.NoError(t, err)
			assert.NotEmpty(t, inv.Packages, "this machine's dpkg database")
			bins := map[string]sbom.Binary{}
			for _, b := range inv.Binaries {
				if strings.HasPrefix(b.Path, dir) {
					bins[b.Name] = b
				}
			}
			assert.Equal(t, map[string]sbom.Binary{
				"kubeadm":    {Name: "kubeadm", Path: dir + "/kubeadm", SHA256: sums["kubeadm"], Version: "v1.36.3"},
				"kubelet":    {Name: "kubelet", Path: dir + "/kubelet", SHA256: sums["kubelet"], Version: "v1.36.3"},
				"kubectl":    {Name: "kubectl", Path: dir + "/kubectl", SHA256: sums["kubectl"], Version: p.Kubernetes.Version},
				"crictl":     {Name: "crictl", Path: dir + "/crictl", SHA256: sums["crictl"], Version: "v1.36.0"},
				"containerd": {Name: "containerd", Path: dir + "/containerd", SHA256: sums["containerd"], Version: "1.7.24~ds1"},
				"runc":       {Name: "runc", Path: dir + "/runc", SHA256: sums["runc"], Version: "1.1.15+ds1"},
			}, bins)
		})
	}

	missing, _ := stubBins(t, "kubeadm", "kubectl", "crictl", "containerd")
	for name, target := range map[string]apply.Target{"chroot": hostTarget{bin: missing}, "ssh": hostSSH{hostTarget{bin: missing}}} {
		_, err := collectInventory(context.Background(), target, p)
		require.ErrorContains(t, err, "SBOM inventory: ", name)
		require.ErrorContains(t, err, "inventory: kubelet: not found in the image", name)
	}
}
