package app_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// decodeOneJSON decodes stdout as exactly one JSON document: nothing but
// white space may follow it.
func decodeOneJSON(t *testing.T, stdout string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	var v any
	require.NoError(t, dec.Decode(&v), "stdout is JSON:\n%s", stdout)
	assert.Empty(t, strings.TrimSpace(stdout[dec.InputOffset():]), "nothing after the JSON document")
	if m, ok := v.(map[string]any); ok {
		return m
	}
	return map[string]any{"list": v}
}

// TestOutputFormats: every command that reports a result prints exactly one
// JSON document with -o json and one YAML document (the same field names)
// with -o yaml on stdout; warnings, progress and -v's log lines go to
// stderr.
func TestOutputFormats(t *testing.T) {
	dir := t.TempDir()
	userData := filepath.Join(dir, "user-data")
	require.NoError(t, os.WriteFile(userData, []byte("#cloud-config\nhostname: node-1\n"), 0o644))
	invalid := writeRecipe(t, "apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nfrom: ubuntu-24.04-cri-o\nruntime:\n  version: \"1.30\"\n")
	cases := []struct {
		name string
		args func(dest string) []string
		code int
		// fields must be in the result with these values ("*": present).
		fields map[string]any
		stderr []string
	}{
		{name: "render", args: func(d string) []string {
			return []string{"render", "ubuntu-24.04-docker", "--dest", filepath.Join(d, "plan"), "-v"}
		},
			fields: map[string]any{"recipe": "ubuntu-24.04-docker", "runtime": "docker", "steps": "*", "files": "*", "planDigest": "*"},
			stderr: []string{"runtime.criDockerd.sha256: warning: not set", "kubebake: debug: rendered source=builtin:ubuntu-24.04-docker"}},
		{name: "validate, valid", args: func(string) []string { return []string{"validate", "ubuntu-24.04-docker"} },
			fields: map[string]any{"valid": true, "recipe": "ubuntu-24.04-docker", "errors": []any{}}},
		{name: "validate, invalid", args: func(string) []string { return []string{"validate", invalid} }, code: 1,
			fields: map[string]any{"valid": false, "warnings": []any{}}},
		{name: "recipes", args: func(string) []string { return []string{"recipes"} }, fields: map[string]any{"list": "*"}},
		{name: "version", args: func(string) []string { return []string{"version"} },
			fields: map[string]any{"version": "test", "goVersion": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH,
				"recipesAPIVersion": "kubebake.dev/v1alpha1", "defaultKubernetesVersion": "*"}},
		{name: "seed", args: func(d string) []string {
			return []string{"seed", "--user-data", userData, "--dest", filepath.Join(d, "seed.iso"), "--verbose"}
		}, fields: map[string]any{"size": "*", "files": []any{"meta-data", "user-data"}},
			stderr: []string{"kubebake: debug: read file=" + userData}},
	}
	for _, tc := range cases {
		for _, format := range []string{"json", "yaml"} {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				dest := t.TempDir()
				code, stdout, stderr := run(append(tc.args(dest), "-o", format)...)
				require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
				var got map[string]any
				if format == "json" {
					got = decodeOneJSON(t, stdout)
				} else {
					var v any
					require.NoError(t, yaml.Unmarshal([]byte(stdout), &v), "stdout is YAML:\n%s", stdout)
					var ok bool
					if got, ok = v.(map[string]any); !ok {
						got = map[string]any{"list": v}
					}
					assert.NotContains(t, stdout, "\n---", "one YAML document")
				}
				for k, want := range tc.fields {
					require.Contains(t, got, k, stdout)
					if want != "*" {
						assert.Equal(t, want, got[k], k)
					}
				}
				assert.NotContains(t, stdout, "kubebake:", "no progress or log line on stdout")
				for _, s := range tc.stderr {
					assert.Contains(t, stderr, s)
				}
			})
		}
	}
}

// TestSeedResultNamesTheISO: the JSON result's paths are the files written.
func TestSeedResultNamesTheISO(t *testing.T) {
	dir := t.TempDir()
	userData := filepath.Join(dir, "user-data")
	require.NoError(t, os.WriteFile(userData, []byte("#cloud-config\n"), 0o644))
	iso := filepath.Join(dir, "seed.iso")
	code, stdout, stderr := run("seed", "--user-data", userData, "-d", iso, "-o", "json")
	require.Equal(t, 0, code, stderr)
	got := decodeOneJSON(t, stdout)
	fi, err := os.Stat(iso)
	require.NoError(t, err)
	assert.Equal(t, iso, got["seed"])
	assert.Equal(t, float64(fi.Size()), got["size"])
	assert.Empty(t, stderr)
}

// TestOldOutputPath: -o was the output path of build, render, base and seed;
// a path given to it now is a usage error (exit 2) that points to --dest,
// before anything is written.
func TestOldOutputPath(t *testing.T) {
	dir := t.TempDir()
	userData := filepath.Join(dir, "user-data")
	require.NoError(t, os.WriteFile(userData, []byte("#cloud-config\n"), 0o644))
	out := filepath.Join(dir, "out")
	cases := []struct {
		name string
		args []string
	}{
		{name: "build", args: []string{"build", "debian-13-containerd", "--base", "base.qcow2", "-o", out + "/"}},
		{name: "render", args: []string{"render", "debian-13-containerd", "-o", out}},
		{name: "base", args: []string{"base", "debian-13", "-o", out + ".qcow2"}},
		{name: "seed", args: []string{"seed", "--user-data", userData, "-o", out + ".iso"}},
		{name: "render, --output", args: []string{"render", "debian-13-containerd", "--output", out}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(tc.args...)
			assert.Equal(t, 2, code, stderr)
			path := tc.args[len(tc.args)-1]
			assert.Equal(t, "kubebake: -o \""+path+"\": unknown output format (want text, json or yaml); the output path is --dest\n", stderr)
			assert.Empty(t, stdout)
			assert.NoFileExists(t, path)
			assert.NoDirExists(t, path)
		})
	}
	// Commands without --dest name the formats alone.
	code, _, stderr := run("recipes", "-o", out)
	assert.Equal(t, 2, code)
	assert.Equal(t, "kubebake: -o \""+out+"\": unknown output format (want text, json or yaml)\n", stderr)
}

// TestVerbosity: -v is a count on every command (before or after it):
// none shows info only, -v (or --verbose=1) debug lines too.
func TestVerbosity(t *testing.T) {
	cases := []struct {
		name  string
		flags []string
		debug bool
	}{
		{name: "none"},
		{name: "-v", flags: []string{"-v"}, debug: true},
		{name: "-vv", flags: []string{"-vv"}, debug: true},
		{name: "--verbose=2", flags: []string{"--verbose=2"}, debug: true},
		{name: "--verbose=0", flags: []string{"--verbose=0"}},
		{name: "-v -v", flags: []string{"-v", "-v"}, debug: true},
	}
	for _, tc := range cases {
		for _, before := range []bool{false, true} {
			name := tc.name + " after the command"
			if before {
				name = tc.name + " before the command"
			}
			t.Run(name, func(t *testing.T) {
				args := []string{"render", "debian-13-containerd", "-d", filepath.Join(t.TempDir(), "plan")}
				if before {
					args = append(append([]string{}, tc.flags...), args...)
				} else {
					args = append(args, tc.flags...)
				}
				code, stdout, stderr := run(args...)
				require.Equal(t, 0, code, stderr)
				assert.Contains(t, stdout, "rendered debian-13-containerd")
				if tc.debug {
					assert.Contains(t, stderr, "kubebake: debug: rendered source=builtin:debian-13-containerd planDigest=sha256:")
					assert.Contains(t, stderr, "kubebake: debug: wrote the plan dir=")
				} else {
					assert.Empty(t, stderr)
				}
			})
		}
	}
	code, _, stderr := run("--verbose=x", "version")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `invalid argument "x" for "-v, --verbose" flag`)
}

// TestOutputCompletion: every command with -o completes its formats, and
// userdata (whose output is the user data itself) has none.
func TestOutputCompletion(t *testing.T) {
	for _, args := range [][]string{
		{"build", "debian-13-containerd"}, {"render", "debian-13-containerd"}, {"base", "debian-13"}, {"seed"},
		{"test", "x.qcow2"}, {"validate", "x"}, {"recipes"}, {"version"},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, stdout, stderr := run(append(append([]string{"__complete"}, args...), "-o", "")...)
			require.Equal(t, 0, code, stderr)
			assert.True(t, strings.HasPrefix(stdout, "text\njson\nyaml\n:4\n"), stdout)
		})
	}
	code, _, stderr := run("userdata", "node.yaml", "-o", "json")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "unknown shorthand flag: 'o'")
}

// TestBuildProgressOnStderr: build's progress lines and -v's command log go
// to stderr, never to stdout, also when the bake fails. The base is not a
// disk (qemu-img is a stand-in), so the bake stops after unpacking it.
func TestBuildProgressOnStderr(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot mode needs root")
	}
	dir := t.TempDir()
	t.Setenv("PATH", fakeTools(t, filepath.Join(dir, "qemu.pid"))+":"+os.Getenv("PATH"))
	base := filepath.Join(dir, "base.qcow2")
	require.NoError(t, os.WriteFile(base, []byte("base"), 0o644))
	fb := filepath.Join(dir, "kubebake-firstboot")
	require.NoError(t, os.WriteFile(fb, []byte("fb"), 0o755))
	for _, tc := range []struct {
		name  string
		flags []string
		debug bool
	}{{name: "text"}, {name: "json, -v", flags: []string{"-o", "json", "-v"}, debug: true}} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := run(append([]string{"build", "debian-13-containerd", "--base", base, "--dest", out,
				"--kubernetes-binaries-dir", dir, "--firstboot-binary", fb}, tc.flags...)...)
			assert.Equal(t, 1, code, stderr)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, "kubebake: base image unpacked in ")
			if tc.debug {
				assert.Contains(t, stderr, `kubebake: debug: run cmd="qemu-img convert -O raw `+base)
			} else {
				assert.NotContains(t, stderr, "kubebake: debug:")
			}
			assert.NoDirExists(t, out)
		})
	}
}
