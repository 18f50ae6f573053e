package render_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/testutil"
)

// recipeFile writes a recipe document to a temporary file.
func recipeFile(t *testing.T, doc string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "recipe.yaml")
	require.NoError(t, os.WriteFile(p, []byte(doc), 0o644))
	return p
}

// gpgKey makes a signing key in its own home and exports it (armored, or
// binary when armor is false); it returns the key file and its
// fingerprint.
func gpgKey(t *testing.T, gpg, dir, uid string, armor bool) (string, string) {
	t.Helper()
	home := t.TempDir()
	run := func(args ...string) []byte {
		cmd := exec.Command(gpg, append([]string{"--batch", "--quiet", "--homedir", home}, args...)...)
		out, err := cmd.Output()
		require.NoError(t, err, "gpg %s", strings.Join(args, " "))
		return out
	}
	run("--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
	var fpr string
	for _, line := range strings.Split(string(run("--with-colons", "--list-keys", uid)), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" {
			fpr = f[9]
			break
		}
	}
	require.Len(t, fpr, 40)
	args := []string{"--export", uid}
	if armor {
		args = append([]string{"--armor"}, args...)
	}
	file := filepath.Join(dir, strings.ReplaceAll(uid, " ", "-")+".key")
	require.NoError(t, os.WriteFile(file, run(args...), 0o644))
	return file, fpr
}

// TestRepositoryKeyPinned runs the repositories step's own key check (the
// function the rendered script defines) with the real gpg: the pinned key
// passes, armored or binary; another key, a keyring of two keys and a file
// that is no key fail, naming the key's source and both fingerprints.
func TestRepositoryKeyPinned(t *testing.T) {
	t.Parallel()
	gpg := testutil.Tool(t, "gpg")
	dir := t.TempDir()
	pinned, fpr := gpgKey(t, gpg, dir, "kubebake pinned", true)
	binary, binFpr := gpgKey(t, gpg, dir, "kubebake binary", false)
	other, otherFpr := gpgKey(t, gpg, dir, "kubebake other", true)
	both := filepath.Join(dir, "both.key")
	b1, _ := os.ReadFile(pinned)
	b2, _ := os.ReadFile(other)
	require.NoError(t, os.WriteFile(both, append(b1, b2...), 0o644))
	junk := filepath.Join(dir, "junk.key")
	require.NoError(t, os.WriteFile(junk, []byte("<html>404</html>\n"), 0o644))

	p := loadPlan(t, recipeFile(t, `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: pinned
from: debian-13-containerd
kubernetes:
  source: packages
  packages:
    url: https://mirror.example.com/pkgs
    key:
      fingerprint: "`+strings.ToLower(fpr[:20])+" "+fpr[20:]+`"
`))
	body := string(stepBody(p, "repositories"))
	assert.Contains(t, body, "https://mirror.example.com/pkgs/core:/stable:/v")
	start := strings.Index(body, "kb_key_pinned() {")
	require.GreaterOrEqual(t, start, 0, "the step defines kb_key_pinned:\n%s", body)
	fn := body[start : start+strings.Index(body[start:], "\n}\n")+3]
	assert.Contains(t, body, "kb_key_pinned /etc/apt/keyrings/kubernetes-apt-keyring.asc "+fpr+" ", "the step checks the key it fetched, normalized")

	tests := []struct {
		name, key, want string
		ok              bool
	}{
		{name: "pinned armored key", key: pinned, want: fpr, ok: true},
		{name: "pinned binary key", key: binary, want: binFpr, ok: true},
		{name: "another key", key: other, want: fpr, ok: false},
		{name: "two keys", key: both, want: fpr, ok: false},
		{name: "not a key", key: junk, want: fpr, ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("bash", "-euo", "pipefail", "-c", fn+`kb_key_pinned "$1" "$2" https://mirror.example.com/key`, "bash", tc.key, tc.want)
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if tc.ok {
				require.NoError(t, err, "%s", out)
				return
			}
			require.Error(t, err)
			assert.Contains(t, string(out), "the signing key from https://mirror.example.com/key has the fingerprint")
			assert.Contains(t, string(out), "want "+tc.want)
			switch tc.key {
			case other:
				assert.Contains(t, string(out), otherFpr)
			case junk:
				assert.Contains(t, string(out), "not an OpenPGP key")
			}
		})
	}
}
