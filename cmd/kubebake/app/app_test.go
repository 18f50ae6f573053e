package app_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/cmd/kubebake/app"
)

func run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = app.Run("test", &out, &errb, args)
	return code, out.String(), errb.String()
}

func writeRecipe(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "my-recipe.yaml")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestExitCodes(t *testing.T) {
	bad := writeRecipe(t, "apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nbase:\n  distro: ubuntu\n  release: \"24.04\"\n  colour: blue\nruntime:\n  kind: rkt\n")
	good := writeRecipe(t, "apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nfrom: ubuntu-24.04-containerd\n")
	cases := []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderr   []string
		noStdout bool
	}{
		{name: "valid built-in", args: []string{"validate", "ubuntu-24.04-containerd"}, code: 0, stdout: []string{"builtin:ubuntu-24.04-containerd: valid"}},
		{name: "valid file", args: []string{"validate", good}, code: 0, stdout: []string{"valid (0 warnings)"}},
		{name: "invalid file lists every error with its position", args: []string{"validate", bad}, code: 1,
			stdout: []string{bad + ":6:3: base.colour: unknown field \"colour\"", bad + ":8:9: runtime.kind: unknown runtime \"rkt\""},
			stderr: []string{"2 errors, 0 warnings"}},
		{name: "warnings are apart from errors", args: []string{"validate", "ubuntu-24.04-docker"}, code: 0,
			stdout: []string{"runtime.criDockerd.sha256: warning: not set"}},
		{name: "no argument is a usage error", args: []string{"validate"}, code: 2, stderr: []string{"accepts 1 arg"}},
		{name: "unknown flag is a usage error", args: []string{"validate", "--nope", "x"}, code: 2, stderr: []string{"unknown flag"}},
		{name: "unknown output is a usage error", args: []string{"validate", "-o", "xml", "debian-13-containerd"}, code: 2, stderr: []string{"unknown output format"}},
		{name: "unknown command is a usage error", args: []string{"bake-it"}, code: 2, stderr: []string{"unknown command"}},
		{name: "missing recipe names the built-ins", args: []string{"validate", "/nonexistent/r.yaml"}, code: 1, stderr: []string{"no such file or built-in recipe", "debian-13-containerd"}},
		{name: "render needs --dest", args: []string{"render", "debian-13-containerd"}, code: 2, stderr: []string{"--dest DIR is required"}},
		{name: "render of an invalid recipe writes nothing", args: []string{"render", bad, "--dest", filepath.Join(t.TempDir(), "p")}, code: 1,
			stderr: []string{"runtime.kind", "nothing written"}, noStdout: true},
		{name: "recipes lists built-ins", args: []string{"recipes"}, code: 0, stdout: []string{"NAME", "fedora-coreos-cri-o", "rocky 9"}},
		{name: "version", args: []string{"version"}, code: 0, stdout: []string{"kubebake test", "kubebake.dev/v1alpha1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(tc.args...)
			assert.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			for _, s := range tc.stdout {
				assert.Contains(t, stdout, s)
			}
			for _, s := range tc.stderr {
				assert.Contains(t, stderr, s)
			}
			if tc.noStdout {
				assert.Empty(t, stdout)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	bad := writeRecipe(t, "apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nfrom: ubuntu-24.04-cri-o\nruntime:\n  version: \"1.30\"\n")
	code, stdout, _ := run("validate", "-o", "json", bad)
	require.Equal(t, 1, code)
	var res struct {
		Valid  bool `json:"valid"`
		Errors []struct {
			Path    string `json:"path"`
			Message string `json:"message"`
			Pos     struct {
				File   string `json:"file"`
				Line   int    `json:"line"`
				Column int    `json:"column"`
			} `json:"pos"`
		} `json:"errors"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
	assert.False(t, res.Valid)
	require.Len(t, res.Errors, 1)
	assert.Equal(t, "runtime.version", res.Errors[0].Path)
	assert.Equal(t, 5, res.Errors[0].Pos.Line)
	assert.Contains(t, res.Errors[0].Message, "must equal the Kubernetes minor")
}

func TestRender(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plan")
	code, stdout, stderr := run("render", "fedora-coreos-cri-o", "--dest", dir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "rendered fedora-coreos-cri-o")
	for _, f := range []string{"plan.json", "config.bu", "config.ign", "rootfs/etc/crio/crio.conf.d/10-kubebake.conf", "steps/01-kernel-modules.sh"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	// Rendering again replaces the plan whole: a stale file does not survive.
	stale := filepath.Join(dir, "steps", "99-stale.sh")
	require.NoError(t, os.WriteFile(stale, []byte("#!/bin/sh\n"), 0o755))
	code, _, stderr = run("render", "debian-13-containerd", "-d", dir)
	require.Equal(t, 0, code, stderr)
	assert.NoFileExists(t, stale)
	assert.NoFileExists(t, filepath.Join(dir, "config.ign"))
	entries, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.Contains(e.Name(), ".tmp-") || strings.HasSuffix(e.Name(), ".old"), "left behind: %s", e.Name())
	}
}

func TestRecipesJSON(t *testing.T) {
	code, stdout, _ := run("recipes", "-o", "json")
	require.Equal(t, 0, code)
	var list []map[string]string
	require.NoError(t, json.Unmarshal([]byte(stdout), &list))
	assert.GreaterOrEqual(t, len(list), 11)
	for _, r := range list {
		assert.NotEmpty(t, r["description"], r["name"])
	}
}

func TestHelpHasExamples(t *testing.T) {
	for _, sub := range []string{"render", "validate", "recipes", "version"} {
		code, stdout, _ := run(sub, "--help")
		assert.Equal(t, 0, code)
		assert.Contains(t, stdout, "Examples:", sub)
	}
}

// TestVersionAndCompletion: kubebake --version, and shell completion that
// offers recipe names and flag values.
func TestVersionAndCompletion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{name: "--version", args: []string{"--version"}, want: []string{"kubebake v9.9.9"}},
		{name: "recipe names", args: []string{"__complete", "build", ""}, want: []string{"debian-13-containerd", "ubuntu-24.04-cri-o"}},
		{name: "render recipe names", args: []string{"__complete", "render", "ubu"}, want: []string{"ubuntu-24.04-docker"}},
		{name: "--mode values", args: []string{"__complete", "build", "debian-13-containerd", "--mode", ""}, want: []string{"chroot\nvm\n"}},
		{name: "-o values", args: []string{"__complete", "validate", "x", "-o", ""}, want: []string{"text\njson\nyaml\n"}},
		{name: "bash completion script", args: []string{"completion", "bash"}, want: []string{"__start_kubebake"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := app.Run("v9.9.9", &out, &errOut, tc.args)
			require.Equal(t, 0, code, errOut.String())
			for _, w := range tc.want {
				assert.Contains(t, out.String(), w)
			}
		})
	}
}

// TestValidateNodeConfig: kubebake validate checks a NodeConfig as the node
// would, with positions, before it reaches a VM.
func TestValidateNodeConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "node.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("apiVersion: kubebake.dev/v1alpha1\nkind: NodeConfig\nrole: joinx\n"), 0o600))
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, app.Run("test", &out, &errOut, []string{"validate", bad}))
	assert.Contains(t, out.String(), bad+`:3:7: role: unknown role "joinx"`)
	good := filepath.Join(dir, "init.yaml")
	require.NoError(t, os.WriteFile(good, []byte("apiVersion: kubebake.dev/v1alpha1\nkind: NodeConfig\nrole: init\nbootstrap:\n  token: abcdef.0123456789abcdef\n"), 0o600))
	out.Reset()
	assert.Equal(t, 0, app.Run("test", &out, &errOut, []string{"validate", good}), errOut.String())
	assert.Contains(t, out.String(), good+": valid")
}

// TestValidateUserData: user data is checked before it reaches a VM, by
// kubebake validate and kubebake userdata --validate alike: what userdata
// generates passes, a bad NodeConfig inside a hand-written #cloud-config is
// reported at its line in the user data, and user data without a
// NodeConfig fails.
func TestValidateUserData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	node := write("node.yaml", "apiVersion: kubebake.dev/v1alpha1\nkind: NodeConfig\nrole: init\nbootstrap:\n  token: abcdef.0123456789abcdef\n")
	bad := write("bad-user-data", "#cloud-config\nwrite_files:\n  - path: /etc/kubebake/node.yaml\n    content: |\n"+
		"      apiVersion: kubebake.dev/v1alpha1\n      kind: NodeConfig\n      role: joinx\n")
	other := write("other-user-data", "#cloud-config\npackages: [htop]\n")
	for _, format := range []string{"cloud-config", "mime", "butane", "ignition"} {
		code, generated, stderr := run("userdata", node, "--format", format)
		require.Equal(t, 0, code, stderr)
		ud := write("user-data."+format, generated)
		for _, args := range [][]string{{"validate", ud}, {"userdata", "--validate", ud}} {
			code, stdout, stderr := run(args...)
			assert.Equal(t, 0, code, "%v: %s", args, stderr)
			assert.Contains(t, stdout, ud+": valid")
		}
	}
	for _, args := range [][]string{{"validate", bad}, {"userdata", "--validate", bad}} {
		code, stdout, _ := run(args...)
		assert.Equal(t, 1, code, "%v", args)
		assert.Contains(t, stdout, bad+`:7:13: role: unknown role "joinx"`, "%v", args)
	}
	for _, args := range [][]string{{"validate", other}, {"userdata", "--validate", other}} {
		code, stdout, stderr := run(args...)
		assert.Equal(t, 1, code, "%v", args)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, other+": no NodeConfig in the user data", "%v", args)
	}
	code, _, stderr := run("userdata", "--validate", "--format", "mime", bad)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--format and --validate")
}
