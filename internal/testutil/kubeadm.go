package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kubebake/kubebake/firstboot/kubeadm"
	"github.com/kubebake/kubebake/firstboot/nodeconfig"
)

// Kubeadm returns the kubeadm of version as hack/k8s-bin.sh builds it:
// KUBEBAKE_K8S_DIR/VERSION/bin/kubeadm, else _build/k8s/VERSION/bin/kubeadm
// in the repository. When it is missing the test is skipped, or fails when
// KUBEBAKE_REQUIRE_KUBEADM=1 (make test sets it).
func Kubeadm(t testing.TB, version string) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "_build", "k8s", version, "bin")
	if d := os.Getenv("KUBEBAKE_K8S_DIR"); d != "" {
		dir = filepath.Join(d, version, "bin")
	}
	bin, err := filepath.Abs(filepath.Join(dir, "kubeadm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		msg := "no kubeadm " + version + " at " + bin + ": build it with hack/k8s-bin.sh -v " + version + " kubeadm"
		if os.Getenv("KUBEBAKE_REQUIRE_KUBEADM") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// KubeadmDryRun has the kubeadm bin write what c's configuration and
// patches (kubeadm.Render, kubeadm.PatchFiles) make of each phase of
// `kubeadm init phase PHASE... --dry-run`, and returns the directory the
// manifests went to and kubeadm's output. c must be defaulted and valid.
func KubeadmDryRun(t testing.TB, bin string, c *nodeconfig.NodeConfig, phases ...[]string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	patches := filepath.Join(dir, "patches")
	if err := os.Mkdir(patches, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := kubeadm.PatchFiles(c)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(patches, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := kubeadm.Render(c, kubeadm.Options{CRISocket: "unix:///run/containerd/containerd.sock", PatchesDir: patches})
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "kubeadm.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	dry := filepath.Join(dir, "dry-run")
	var out []byte
	for _, phase := range phases {
		cmd := exec.Command(bin, append(append([]string{"init", "phase"}, phase...), "--config", cfgPath, "--dry-run")...)
		cmd.Env = append(os.Environ(), "KUBEADM_INIT_DRYRUN_DIR="+dry)
		b, err := cmd.CombinedOutput()
		out = append(out, b...)
		if err != nil {
			t.Fatalf("kubeadm init phase %v --dry-run: %v\n%s", phase, err, b)
		}
	}
	return dry, string(out)
}

// repoRoot is the directory of the repository's go.mod, above the test's
// working directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
