package main

import (
	"archive/tar"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/testutil"
)

// TestLayout lays out stand-in binaries and checks the result with the
// programs that read it: dpkg-deb reads every package, gpgv verifies the
// Release signatures with the exported key, every .sha256 and every
// Packages digest matches its file, and the tarballs hold the binaries.
func TestLayout(t *testing.T) {
	gpg := testutil.Tool(t, "gpg")
	gpgv := testutil.Tool(t, "gpgv")
	testutil.Tool(t, "dpkg-deb")
	dir := t.TempDir()
	home := filepath.Join(dir, "gnupg")
	require.NoError(t, os.Mkdir(home, 0o700))
	out, err := exec.Command(gpg, "--homedir", home, "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", "srcrepo test", "ed25519", "sign", "never").CombinedOutput()
	require.NoError(t, err, "%s", out)
	bin, cni := filepath.Join(dir, "bin"), filepath.Join(dir, "cni")
	for _, d := range []string{bin, cni} {
		require.NoError(t, os.Mkdir(d, 0o755))
	}
	for _, name := range []string{"kubeadm", "kubelet", "kubectl", "crictl"} {
		require.NoError(t, os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\necho "+name+"\n"), 0o755))
	}
	for _, name := range []string{"bridge", "loopback"} {
		require.NoError(t, os.WriteFile(filepath.Join(cni, name), []byte("#!/bin/sh\necho "+name+"\n"), 0o755))
	}
	www := filepath.Join(dir, "www")
	require.NoError(t, run([]string{"layout", "-bin", bin, "-cni", cni, "-gnupghome", home, "-key", "srcrepo test",
		"-out", www, "-version", "v1.36.3", "-crictl-version", "v1.36.0", "-cni-version", "v1.1.1"}))

	repo := filepath.Join(www, "pkgs", "core:", "stable:", "v1.36", "deb")
	keyring := filepath.Join(dir, "keyring.gpg")
	out, err = exec.Command(gpg, "--batch", "--yes", "--dearmor", "--output", keyring, filepath.Join(repo, "Release.key")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command(gpgv, "--keyring", keyring, filepath.Join(repo, "InRelease")).CombinedOutput()
	assert.NoError(t, err, "InRelease verifies: %s", out)
	out, err = exec.Command(gpgv, "--keyring", keyring, filepath.Join(repo, "Release.gpg"), filepath.Join(repo, "Release")).CombinedOutput()
	assert.NoError(t, err, "Release.gpg verifies: %s", out)

	release, err := os.ReadFile(filepath.Join(repo, "Release"))
	require.NoError(t, err)
	for _, idx := range []string{"Packages", "Packages.gz"} {
		sum, _, err := manifest.FileSHA256(filepath.Join(repo, idx))
		require.NoError(t, err)
		assert.Regexp(t, regexp.MustCompile(`(?m)^ `+sum+` \d+ `+regexp.QuoteMeta(idx)+`$`), string(release))
	}
	index, err := os.ReadFile(filepath.Join(repo, "Packages"))
	require.NoError(t, err)
	stanzas := strings.Split(strings.TrimSpace(string(index)), "\n\n")
	require.Len(t, stanzas, 5)
	versions := map[string]string{}
	for _, s := range stanzas {
		f := fields(s)
		sum, _, err := manifest.FileSHA256(filepath.Join(repo, f["Filename"]))
		require.NoError(t, err)
		assert.Equal(t, f["SHA256"], sum, "%s: the index's digest is the package's", f["Package"])
		out, err := exec.Command("dpkg-deb", "-f", filepath.Join(repo, f["Filename"]), "Package", "Version").CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Equal(t, "Package: "+f["Package"]+"\nVersion: "+f["Version"]+"\n", string(out))
		versions[f["Package"]] = f["Version"]
	}
	assert.Equal(t, map[string]string{"kubelet": "1.36.3-1.1", "kubeadm": "1.36.3-1.1", "kubectl": "1.36.3-1.1",
		"cri-tools": "1.36.0-1.1", "kubernetes-cni": "1.1.1-1.1"}, versions)
	out, err = exec.Command("dpkg-deb", "-c", filepath.Join(repo, "amd64", "kubernetes-cni_1.1.1-1.1_amd64.deb")).CombinedOutput()
	require.NoError(t, err)
	assert.Contains(t, string(out), "./opt/cni/bin/bridge")

	for _, p := range []string{
		"dl/release/v1.36.3/bin/linux/amd64/kubelet",
		"cri-tools/v1.36.0/crictl-v1.36.0-linux-amd64.tar.gz",
		"cni/v1.1.1/cni-plugins-linux-amd64-v1.1.1.tgz",
	} {
		b, err := os.ReadFile(filepath.Join(www, p+".sha256"))
		require.NoError(t, err)
		sum, _, err := manifest.FileSHA256(filepath.Join(www, p))
		require.NoError(t, err)
		assert.Equal(t, sum, strings.Fields(string(b))[0], p)
	}
	assert.Equal(t, []string{"crictl"}, tarNames(t, filepath.Join(www, "cri-tools/v1.36.0/crictl-v1.36.0-linux-amd64.tar.gz")))
	assert.Equal(t, []string{"./bridge", "./loopback"}, tarNames(t, filepath.Join(www, "cni/v1.1.1/cni-plugins-linux-amd64-v1.1.1.tgz")))
}

// fields reads a deb822 paragraph without continuation lines.
func fields(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			out[k] = v
		}
	}
	return out
}

func tarNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	return names
}
