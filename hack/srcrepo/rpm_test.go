package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/testutil"
	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// rpmFixture is a gpg home with signing keys and stand-in binaries to lay
// out.
type rpmFixture struct {
	dir, home, bin, cni string
}

// newRPMFixture makes a gpg home holding one ed25519 signing key per uid,
// and shell-script stand-ins for the binaries and two CNI plugins. It
// skips when a tool the rpm repository needs is missing.
func newRPMFixture(t *testing.T, uids ...string) *rpmFixture {
	t.Helper()
	for _, tool := range []string{"gpg", "gpgv", "rpmbuild", "rpmsign", "rpmkeys", "createrepo_c"} {
		testutil.Tool(t, tool)
	}
	dir := t.TempDir()
	f := &rpmFixture{dir: dir, home: filepath.Join(dir, "gnupg"), bin: filepath.Join(dir, "bin"), cni: filepath.Join(dir, "cni")}
	for _, d := range []string{f.bin, f.cni} {
		require.NoError(t, os.Mkdir(d, 0o755))
	}
	require.NoError(t, os.Mkdir(f.home, 0o700))
	for _, uid := range uids {
		out, err := exec.Command("gpg", "--homedir", f.home, "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never").CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	for _, name := range []string{"kubeadm", "kubelet", "kubectl", "crictl"} {
		require.NoError(t, os.WriteFile(filepath.Join(f.bin, name), []byte("#!/bin/sh\necho "+name+"\n"), 0o755))
	}
	for _, name := range []string{"bridge", "loopback"} {
		require.NoError(t, os.WriteFile(filepath.Join(f.cni, name), []byte("#!/bin/sh\necho "+name+"\n"), 0o755))
	}
	return f
}

// layout lays the fixture out with -rpm, signed by uid, at out for
// Kubernetes version, and returns the rpm repository's directory.
func (f *rpmFixture) layout(t *testing.T, uid, out, version string) string {
	t.Helper()
	require.NoError(t, run([]string{"layout", "-rpm", "-bin", f.bin, "-cni", f.cni, "-gnupghome", f.home, "-key", uid,
		"-out", out, "-version", version, "-crictl-version", "v1.36.0", "-cni-version", "v1.7.1"}))
	parts := strings.SplitN(version, ".", 3)
	return filepath.Join(out, "pkgs", "core:", "stable:", parts[0]+"."+parts[1], "rpm")
}

// export writes uid's public key, armored, to path.
func (f *rpmFixture) export(t *testing.T, uid, path string) {
	t.Helper()
	out, err := exec.Command("gpg", "--homedir", f.home, "--batch", "--yes", "--armor", "--export", "--output", path, uid).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// TestRPMLayout checks the rpm repository with the programs that read it:
// rpmkeys verifies every package's signature with the published key and
// refuses them without it, gpgv verifies repomd.xml.asc, rpm reads each
// package's name, version and files, and repomd.xml indexes the packages.
func TestRPMLayout(t *testing.T) {
	f := newRPMFixture(t, "srcrepo test")
	repo := f.layout(t, "srcrepo test", filepath.Join(f.dir, "www"), "v1.36.3")

	keyring := filepath.Join(f.dir, "keyring.gpg")
	out, err := exec.Command("gpg", "--batch", "--yes", "--dearmor", "--output", keyring, filepath.Join(repo, "repodata", "repomd.xml.key")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command("gpgv", "--keyring", keyring, filepath.Join(repo, "repodata", "repomd.xml.asc"), filepath.Join(repo, "repodata", "repomd.xml")).CombinedOutput()
	assert.NoError(t, err, "repomd.xml.asc verifies: %s", out)

	rpms, err := filepath.Glob(filepath.Join(repo, "x86_64", "*.rpm"))
	require.NoError(t, err)
	require.Len(t, rpms, 5)
	empty, db := filepath.Join(f.dir, "db-empty"), filepath.Join(f.dir, "db")
	out, err = exec.Command("rpmkeys", "--dbpath", db, "--import", filepath.Join(repo, "repodata", "repomd.xml.key")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	repomd, err := os.ReadFile(filepath.Join(repo, "repodata", "repomd.xml"))
	require.NoError(t, err)
	versions := map[string]string{}
	for _, p := range rpms {
		out, err := exec.Command("rpmkeys", "--dbpath", db, "--checksig", p).CombinedOutput()
		assert.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "digests signatures OK")
		out, err = exec.Command("rpmkeys", "--dbpath", empty, "--checksig", p).CombinedOutput()
		assert.Error(t, err, "%s verifies with no key imported: %s", p, out)
		name, rest, _ := strings.Cut(rpmQuery(t, "-qp", "--qf", "%{NAME} %{VERSION}-%{RELEASE} %{ARCH}", p), " ")
		versions[name] = rest
		assert.Equal(t, name+"-"+strings.ReplaceAll(rest, " ", ".")+".rpm", filepath.Base(p))
	}
	assert.Equal(t, map[string]string{"kubelet": "1.36.3-150500.1.1 x86_64", "kubeadm": "1.36.3-150500.1.1 x86_64",
		"kubectl": "1.36.3-150500.1.1 x86_64", "cri-tools": "1.36.0-150500.1.1 x86_64", "kubernetes-cni": "1.7.1-150500.1.1 x86_64"}, versions)
	assert.Contains(t, string(repomd), `<data type="primary">`)
	assert.Equal(t, "/usr/bin/kubelet\n/usr/lib/systemd/system/kubelet.service\n",
		rpmQuery(t, "-qlp", filepath.Join(repo, "x86_64", "kubelet-1.36.3-150500.1.1.x86_64.rpm")))
	requires := rpmQuery(t, "-qp", "--requires", filepath.Join(repo, "x86_64", "kubeadm-1.36.3-150500.1.1.x86_64.rpm"))
	for _, r := range []string{"cri-tools >= 1.28.0", "kubelet >= 1.19.0", "kubectl >= 1.19.0"} {
		assert.Contains(t, requires, r+"\n")
	}
}

// TestDnfInstallsFromRenderedRepo installs Kubernetes with dnf into a
// scratch root the way the dnf family's kubernetes step does, from the
// repository definition kubebake renders for a recipe whose
// kubernetes.packages.url is a loopback server in pkgs.k8s.io's layout:
// the rendered kubernetes.repo is dnf's only repository, and the packages
// are the step's own install arguments. dnf must install them at the
// recipe's version, verifying each package with the key the repository
// publishes; without --disableexcludes the hold (exclude=) must hide them;
// a repository whose packages another key signed must be refused.
func TestDnfInstallsFromRenderedRepo(t *testing.T) {
	dnf := testutil.Tool(t, "dnf")
	testutil.Tool(t, "rpm")
	if os.Geteuid() != 0 {
		t.Skip("dnf installs into a root only as root")
	}
	f := newRPMFixture(t, "srcrepo test", "srcrepo other")
	www := filepath.Join(f.dir, "www")
	srv := httptest.NewServer(http.FileServer(http.Dir(www)))
	t.Cleanup(srv.Close)

	version := recipes.DefaultKubernetesVersion()
	f.layout(t, "srcrepo test", filepath.Join(www, "signed"), version)
	// other publishes the key of signed, but another key signed its packages.
	other := f.layout(t, "srcrepo other", filepath.Join(www, "other"), version)
	f.export(t, "srcrepo test", filepath.Join(other, "repodata", "repomd.xml.key"))

	plain := strings.TrimPrefix(version, "v")
	for _, tc := range []struct {
		name, base string
		// lift keeps the step's --disableexcludes=kubernetes.
		lift bool
		// wantErr is in dnf's output when it must fail.
		wantErr string
	}{
		{name: "installs at the version", base: "signed", lift: true},
		{name: "held without --disableexcludes", base: "signed", wantErr: "filtered out by exclude filtering"},
		{name: "signed by another key", base: "other", lift: true, wantErr: "GPG check FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := renderRocky(t, srv.URL+"/"+tc.base)
			require.Equal(t, version, plan.Kubernetes.Version)
			args := dnfStepInstall(t, plan)
			require.Contains(t, args, "--disableexcludes=kubernetes")
			require.Contains(t, args, "kubelet-"+plain)
			if !tc.lift {
				args = without(args, "--disableexcludes=kubernetes")
			}
			dir := t.TempDir()
			root, repos := filepath.Join(dir, "root"), filepath.Join(dir, "repos")
			require.NoError(t, os.Mkdir(repos, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "dnf.conf"), []byte("[main]\n"), 0o644))
			repo := planFile(t, plan, "/etc/yum.repos.d/kubernetes.repo")
			require.NoError(t, os.WriteFile(filepath.Join(repos, "kubernetes.repo"), repo, 0o644))
			cmd := exec.Command(dnf, append([]string{"-y", "--config=" + filepath.Join(dir, "dnf.conf"),
				"--installroot=" + root, "--setopt=reposdir=" + repos, "--releasever=" + plan.Base.Release,
				"--disableplugin=*"}, args...)...)
			cmd.Env = append(os.Environ(), "LC_ALL=C")
			out, err := cmd.CombinedOutput()
			t.Logf("dnf %s:\n%s", strings.Join(args, " "), out)
			if tc.wantErr != "" {
				require.Error(t, err, "dnf installed:\n%s", out)
				assert.Contains(t, string(out), tc.wantErr)
				return
			}
			require.NoError(t, err, "dnf %s:\n%s", strings.Join(args, " "), out)
			out = []byte(rpmQuery(t, "--root", root, "-q", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\n",
				"kubelet", "kubeadm", "kubectl", "cri-tools", "kubernetes-cni"))
			assert.Equal(t, fmt.Sprintf("kubelet %[1]s-%[2]s\nkubeadm %[1]s-%[2]s\nkubectl %[1]s-%[2]s\ncri-tools 1.36.0-%[2]s\nkubernetes-cni 1.7.1-%[2]s\n", plain, rpmRelease), string(out))
			for _, p := range []string{"usr/bin/kubelet", "usr/bin/kubeadm", "usr/bin/crictl", "opt/cni/bin/bridge", "usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"} {
				assert.FileExists(t, filepath.Join(root, p))
			}
		})
	}
}

// rpmQuery is rpm's standard output for args (its NOKEY warnings go to
// standard error).
func rpmQuery(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("rpm", args...).Output()
	require.NoError(t, err, "rpm %s", strings.Join(args, " "))
	return string(out)
}

// renderRocky renders rocky-9-cri-o with its Kubernetes packages from a
// mirror at url, with the key the mirror publishes.
func renderRocky(t *testing.T, url string) *render.Plan {
	t.Helper()
	doc := fmt.Sprintf("apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nmetadata:\n  name: srcrepo-dnf\nfrom: rocky-9-cri-o\nkubernetes:\n  packages:\n    url: %s/pkgs\n", url)
	l, err := recipes.Decode("srcrepo-dnf.yaml", []byte(doc))
	if l != nil {
		require.NoError(t, err, "%s", l.Report.String())
	}
	require.NoError(t, err)
	rn, err := render.New()
	require.NoError(t, err)
	p, err := rn.Render(l)
	require.NoError(t, err)
	return p
}

// dnfStepInstall is the argument list after `"${DNF[@]}"` of the kubernetes
// step's install line.
func dnfStepInstall(t *testing.T, p *render.Plan) []string {
	t.Helper()
	for _, s := range p.Steps {
		if s.Name != "kubernetes" {
			continue
		}
		for _, line := range strings.Split(string(s.Body), "\n") {
			if rest, ok := strings.CutPrefix(line, `"${DNF[@]}" install `); ok {
				args := []string{"install"}
				for _, w := range strings.Fields(rest) {
					args = append(args, strings.Trim(w, `'"`))
				}
				return args
			}
		}
	}
	t.Fatalf("the plan's kubernetes step has no dnf install line")
	return nil
}

// planFile is the content of the plan's file at path.
func planFile(t *testing.T, p *render.Plan, path string) []byte {
	t.Helper()
	for _, f := range p.Files {
		if f.Path == path {
			return f.Content
		}
	}
	t.Fatalf("the plan places no %s", path)
	return nil
}

// without is list without s.
func without(list []string, s string) []string {
	var out []string
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}
