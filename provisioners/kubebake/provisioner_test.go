package kubebake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes/render"
)

// fakeComm is a Packer communicator standing in for the machine: uploads
// are kept in a map (the user's view); a command must be execute_command
// around an uploaded script, which it interprets: install wrappers move a
// file into root's view, "uname -m" answers x86_64, the check script
// answers with every check passing (or one failing), and step scripts are
// recorded and succeed unless named in fail.
type fakeComm struct {
	mu       sync.Mutex
	uploads  map[string][]byte
	root     map[string]installed
	commands []string
	steps    []string
	fail     string
	failChk  string
	// stageDisk, when set, is the disk the unpack script reads: the
	// script runs for real, with bash and tar on this machine.
	stageDisk string
	unpacked  int
}

type installed struct {
	content []byte
	mode    string
}

var installRE = regexp.MustCompile(`install -D -o root -g root -m (\d+) -- '?([^' ]+)'? '?([^' \n]+)'?\n`)

func newFakeComm() *fakeComm {
	return &fakeComm{uploads: map[string][]byte{}, root: map[string]installed{}}
}

func (f *fakeComm) Upload(dst string, r io.Reader, _ *os.FileInfo) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.uploads[dst] = b
	return nil
}

func (f *fakeComm) Start(_ context.Context, cmd *packersdk.RemoteCmd) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commands = append(f.commands, cmd.Command)
	m := regexp.MustCompile(`sudo -n (/tmp/kubebake-run-\S+\.sh)$`).FindStringSubmatch(cmd.Command)
	if m == nil {
		cmd.SetExited(127)
		return nil
	}
	script := string(f.uploads[m[1]])
	delete(f.uploads, m[1]) // the script removes itself
	out := cmd.Stdout
	code := 0
	switch {
	case strings.Contains(script, `tar -x -f "$dev"`):
		f.unpacked++
		if f.stageDisk != "" {
			c := exec.Command("bash", "-c", script)
			c.Env = append(os.Environ(), "KUBEBAKE_STAGE_DISK="+f.stageDisk)
			c.Stdout, c.Stderr = out, cmd.Stderr
			if err := c.Run(); err != nil {
				code = 1
			}
		}
	case strings.Contains(script, "install -D") && !installRE.MatchString(script):
		panic(script)
	case installRE.MatchString(script):
		i := installRE.FindStringSubmatch(script)
		f.root[i[3]] = installed{content: f.uploads[i[2]], mode: i[1]}
		delete(f.uploads, i[2])
	case strings.Contains(script, "KUBEBAKE-ARCH $(uname -m)"):
		io.WriteString(out, "sudo: unable to resolve host x: Name or service not known\nKUBEBAKE-ARCH x86_64\n")
	case strings.Contains(script, "KUBEBAKE-TEST-DONE"):
		n := 0
		for _, c := range regexp.MustCompile(`(?m)^check (\S+) `).FindAllStringSubmatch(script, -1) {
			verdict := "PASS"
			if c[1] == f.failChk {
				verdict = "FAIL"
			}
			fmt.Fprintf(out, "KUBEBAKE-CHECK %s %s detail\n", verdict, c[1])
			n++
		}
		fmt.Fprintf(out, "KUBEBAKE-TEST-DONE %d\n", n)
	case strings.Contains(script, "exec bash "):
		step := regexp.MustCompile(`/steps/\d+-(\S+)\.sh`).FindStringSubmatch(script)[1]
		f.steps = append(f.steps, step)
		fmt.Fprintf(out, "running %s\n", step)
		if step == f.fail {
			io.WriteString(cmd.Stderr, "E: Unable to locate package nope\n")
			code = 100
		}
	case strings.HasPrefix(strings.TrimSpace(strings.SplitN(script, "\n", 3)[2]), "rm -rf"):
		f.steps = append(f.steps, "(stage removed)")
	}
	cmd.SetExited(code)
	return nil
}

func (f *fakeComm) UploadDir(string, string, []string) error   { return nil }
func (f *fakeComm) Download(string, io.Writer) error           { return nil }
func (f *fakeComm) DownloadDir(string, string, []string) error { return nil }

func prepared(t *testing.T, raw map[string]interface{}) *Provisioner {
	t.Helper()
	p := &Provisioner{}
	require.NoError(t, p.Prepare(raw))
	return p
}

func firstbootFile(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "kubebake-firstboot")
	require.NoError(t, os.WriteFile(f, []byte("#!/bin/sh\necho firstboot\n"), 0o755))
	return f
}

func TestPrepareReportsEveryBadField(t *testing.T) {
	p := &Provisioner{}
	err := p.Prepare(map[string]interface{}{
		"recipe":                  "ubuntu-24.04-containerd",
		"execute_command":         "sudo bash",
		"staging_dir":             "relative",
		"remote_temp_dir":         "tmp",
		"firstboot_binary":        "/nonexistent/kubebake-firstboot",
		"kubernetes_binaries_dir": "/nonexistent/bin",
		"overrides": map[string]interface{}{
			"kubernetes_version": "1.36",
			"runtime":            "podman",
		},
	})
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"execute_command: must run the script {{.Path}}",
		`staging_dir: "relative" must be an absolute directory`,
		`remote_temp_dir: "tmp" must be absolute`,
		`firstboot_binary: "/nonexistent/kubebake-firstboot" is not a readable file`,
		`kubernetes_binaries_dir: "/nonexistent/bin" is not a directory`,
		"overrides.kubernetes_version:",
		"overrides.runtime:",
	} {
		assert.Contains(t, msg, want)
	}
}

func TestPrepareErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nbase: {distro: ubuntu, relase: \"24.04\"}\n"), 0o644))
	// Kubernetes' binaries are there, the runtime's are not.
	k8sDir := t.TempDir()
	for _, b := range []string{"kubeadm", "kubelet", "kubectl", "crictl"} {
		require.NoError(t, os.WriteFile(filepath.Join(k8sDir, b), []byte("#!/bin/sh\n"), 0o755))
	}
	tests := []struct {
		name string
		raw  map[string]interface{}
		want string
	}{
		{"no recipe", map[string]interface{}{}, "recipe: required"},
		{"unknown recipe", map[string]interface{}{"recipe": "nope"}, `recipe: recipe "nope": no such file or built-in recipe (built-ins: centos-stream-9-containerd`},
		{"recipe file with a typo", map[string]interface{}{"recipe": bad}, bad + ":3:"},
		{"fcos", map[string]interface{}{"recipe": "fedora-coreos-cri-o"}, "bake it with the kubebake-qemu builder"},
		{"local binaries missing", map[string]interface{}{"recipe": "debian-13-containerd", "kubernetes_binaries_dir": dir}, "kubernetes_binaries_dir: the recipe needs crictl from this machine"},
		{"runtime binaries missing", map[string]interface{}{"recipe": "debian-13-cri-o", "kubernetes_binaries_dir": k8sDir, "runtime_dir": dir}, "runtime_dir: the recipe needs crio from this machine"},
		{"runtime directory not a directory", map[string]interface{}{"recipe": "debian-13-cri-o", "runtime_dir": k8sDir + "/kubeadm"}, "runtime_dir: \"" + k8sDir + "/kubeadm\" is not a directory"},
		{"bad extra image", map[string]interface{}{"recipe": "ubuntu-24.04-containerd", "overrides": map[string]interface{}{"extra_images": []string{"ok.example/a:1", "bad image"}}}, "overrides.extra_images[1]"},
		{"unknown field", map[string]interface{}{"recipe": "ubuntu-24.04-containerd", "recipie": "x"}, "recipie"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Provisioner{}).Prepare(tc.raw)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestProvisionAppliesTheRenderedPlan checks that what reaches the machine
// is exactly the plan `kubebake render` writes, in order, with the node
// checks before the seal.
func TestProvisionAppliesTheRenderedPlan(t *testing.T) {
	planDir := filepath.Join(t.TempDir(), "plan")
	fb := firstbootFile(t)
	p := prepared(t, map[string]interface{}{
		"recipe": "ubuntu-24.04-containerd", "firstboot_binary": fb, "plan_dir": planDir,
		"overrides": map[string]interface{}{"extra_images": []string{"registry.example.com/agent:1.2.3"}, "sysctls": map[string]string{"vm.max_map_count": "262144"}},
	})
	comm := newFakeComm()
	ui, uiOut := recordingUI()
	require.NoError(t, p.Provision(context.Background(), ui, comm, nil))

	// Every file of the plan is staged byte for byte, with its mode.
	written, err := os.ReadFile(filepath.Join(planDir, "plan.json"))
	require.NoError(t, err)
	assert.Contains(t, string(written), "registry.example.com/agent:1.2.3")
	for _, f := range p.plan.Files {
		got, ok := comm.root[render.Stage+"/rootfs"+f.Path]
		require.True(t, ok, "%s %v", f.Path, comm.commands[:2])
		assert.Equal(t, f.Content, got.content, f.Path)
		want, err := os.ReadFile(filepath.Join(planDir, "rootfs", f.Path))
		require.NoError(t, err)
		assert.Equal(t, want, got.content, "the plan_dir copy matches what was staged: %s", f.Path)
		assert.Equal(t, strings.TrimLeft(f.Mode, "0"), strings.TrimLeft(got.mode, "0"), f.Path)
	}
	fbGot := comm.root[render.Stage+"/inputs/kubebake-firstboot"]
	assert.Equal(t, "#!/bin/sh\necho firstboot\n", string(fbGot.content))
	assert.Equal(t, "0755", fbGot.mode)

	var names []string
	for _, s := range p.plan.Steps {
		names = append(names, s.Name)
	}
	require.Equal(t, "seal", names[len(names)-1])
	assert.Equal(t, append(names, "(stage removed)"), comm.steps, "the steps run in order, then the stage goes")
	out := uiOut.String()
	checks := strings.Index(out, "kubebake: node checks")
	seal := strings.Index(out, "] seal:")
	require.Positive(t, checks)
	assert.Less(t, checks, seal, "the node checks run before the seal")
	assert.Contains(t, out, "PASS kubelet-version")
	assert.Contains(t, out, "node checks passed")
	assert.Contains(t, out, "  prepare | running prepare")
	assert.Empty(t, comm.uploads, "no upload is left in the temp directory")
	for _, c := range comm.commands {
		assert.Regexp(t, `^chmod \+x /tmp/kubebake-run-\S+\.sh; sudo -n /tmp/kubebake-run-\S+\.sh$`, c)
	}
}

func TestProvisionStopsAtTheFailingStep(t *testing.T) {
	p := prepared(t, map[string]interface{}{"recipe": "ubuntu-24.04-containerd", "firstboot_binary": firstbootFile(t)})
	comm := newFakeComm()
	comm.fail = "runtime"
	err := p.Provision(context.Background(), packersdk.TestUi(t), comm, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "step runtime failed with exit code 100")
	assert.Contains(t, err.Error(), "E: Unable to locate package nope")
	assert.Equal(t, "runtime", comm.steps[len(comm.steps)-1], "nothing runs after the failing step")
}

func TestProvisionFailsOnAFailingCheck(t *testing.T) {
	p := prepared(t, map[string]interface{}{"recipe": "ubuntu-24.04-containerd", "firstboot_binary": firstbootFile(t)})
	comm := newFakeComm()
	comm.failChk = "cgroup-driver"
	err := p.Provision(context.Background(), packersdk.TestUi(t), comm, nil)
	require.ErrorContains(t, err, "node checks failed: cgroup-driver")
	assert.NotContains(t, comm.steps, "seal", "a broken image is not sealed")

	p = prepared(t, map[string]interface{}{"recipe": "ubuntu-24.04-containerd", "firstboot_binary": firstbootFile(t), "skip_checks": true})
	comm = newFakeComm()
	comm.failChk = "cgroup-driver"
	require.NoError(t, p.Provision(context.Background(), packersdk.TestUi(t), comm, nil))
}

func TestSkipSealAndOverrides(t *testing.T) {
	p := prepared(t, map[string]interface{}{
		"recipe": "ubuntu-24.04-containerd", "skip_seal": true,
		"overrides": map[string]interface{}{"kubernetes_version": "v1.35.4", "runtime": "cri-o", "preload_images": false},
	})
	var names []string
	for _, s := range p.plan.Steps {
		names = append(names, s.Name)
	}
	assert.NotContains(t, names, "seal")
	assert.Equal(t, "v1.35.4", p.plan.Kubernetes.Version)
	assert.Equal(t, "cri-o", p.plan.Runtime.Kind)
	assert.Empty(t, p.plan.Images)
}

func TestProvisionWithoutEmbeddedFirstboot(t *testing.T) {
	p := prepared(t, map[string]interface{}{"recipe": "ubuntu-24.04-containerd"})
	err := p.Provision(context.Background(), packersdk.TestUi(t), newFakeComm(), nil)
	if embeddedBuild {
		require.NoError(t, err)
		return
	}
	require.ErrorContains(t, err, "carries no kubebake-firstboot for linux/amd64")
}

// recordingUI is Packer's own BasicUi writing every line to a buffer the
// test reads.
func recordingUI() (*packersdk.BasicUi, *bytes.Buffer) {
	var out bytes.Buffer
	return &packersdk.BasicUi{Writer: &out, ErrorWriter: &out, PB: &packersdk.NoopProgressTracker{}}, &out
}
