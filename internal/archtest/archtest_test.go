package archtest

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/kubebake/kubebake"

// repoRoot is the module's root directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

type pkg struct {
	ImportPath string
	Imports    []string
}

// listPackages runs go list -json over patterns.
func listPackages(t *testing.T, args ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	require.NoError(t, err)
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		require.NoError(t, dec.Decode(&p))
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestPluginDoesNotImportTheCLIEngine keeps the Packer plugin off the CLI's
// bake engine, its commands and the test tooling.
func TestPluginDoesNotImportTheCLIEngine(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./builder/...", "./provisioners/...", "./cmd/packer-plugin-kubebake")
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	require.NoError(t, err)
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{module + "/internal/bake", module + "/cmd/kubebake", module + "/hack/"} {
			assert.False(t, strings.HasPrefix(dep, banned), "the plugin imports %s", dep)
		}
	}
}

// TestOnlyPluginCodeImportsPacker: no product package but the plugin's own
// imports packer-plugin-sdk (tests may).
func TestOnlyPluginCodeImportsPacker(t *testing.T) {
	plugin := []string{module + "/builder/", module + "/provisioners/", module + "/cmd/packer-plugin-kubebake"}
	for _, p := range listPackages(t, "./...") {
		isPlugin := false
		for _, prefix := range plugin {
			if strings.HasPrefix(p.ImportPath+"/", prefix) || p.ImportPath == strings.TrimSuffix(prefix, "/") {
				isPlugin = true
			}
		}
		if isPlugin {
			continue
		}
		for _, imp := range p.Imports {
			assert.False(t, strings.HasPrefix(imp, "github.com/hashicorp/packer-plugin-sdk"), "%s imports %s", p.ImportPath, imp)
		}
	}
}

// maxLines is the most lines a hand-written Go file may have.
const maxLines = 500

// TestNoLongFiles keeps every hand-written Go file under maxLines; generated
// files (Packer's *.hcl2spec.go, "Code generated") are exempt.
func TestNoLongFiles(t *testing.T) {
	root := repoRoot(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "_build", "bin", "dist", "out", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		lines, generated := 0, false
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if lines < 5 && strings.HasPrefix(sc.Text(), "// Code generated") {
				generated = true
			}
			lines++
		}
		if err := sc.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if !generated {
			assert.LessOrEqual(t, lines, maxLines, "%s has %d lines", rel, lines)
		}
		return nil
	})
	require.NoError(t, err)
}
