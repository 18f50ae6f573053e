package render_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// ---------------------------------------------------------------------------
// Consumer binaries.

type consumerTool struct {
	path    string
	version string
	why     string // why there is none
}

var (
	consumerToolsMu sync.Mutex
	consumerTools   = map[string]*consumerTool{}
)

// consumerRepoRoot is the directory holding go.mod.
func consumerRepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// lookupConsumer finds a consumer binary: _build/validators/bin first, then
// PATH; a candidate must run and, for dockerd, know --validate.
func lookupConsumer(name string) *consumerTool {
	consumerToolsMu.Lock()
	defer consumerToolsMu.Unlock()
	if tool, ok := consumerTools[name]; ok {
		return tool
	}
	var candidates []string
	if root := consumerRepoRoot(); root != "" {
		candidates = append(candidates, filepath.Join(root, "_build", "validators", "bin", name))
	}
	if p, err := exec.LookPath(name); err == nil {
		candidates = append(candidates, p)
	}
	tool := &consumerTool{why: "not found in _build/validators/bin or PATH"}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		out, _, err := consumerRun(c, "--version")
		if err != nil {
			tool.why = fmt.Sprintf("%s --version: %v", c, err)
			continue
		}
		if name == "dockerd" {
			help, helpErr, _ := consumerRun(c, "--help")
			if !strings.Contains(help+helpErr, "--validate") {
				tool.why = fmt.Sprintf("%s (%s) has no --validate: it needs Docker 23 or later", c, strings.TrimSpace(out))
				continue
			}
		}
		tool.path, tool.version, tool.why = c, consumerFirstLine(out), ""
		break
	}
	consumerTools[name] = tool
	return tool
}

// consumerBinary returns the path of a consumer, or skips (fails under
// KUBEBAKE_REQUIRE_VALIDATORS=1) when there is none.
func consumerBinary(t *testing.T, name string) string {
	t.Helper()
	tool := lookupConsumer(name)
	if tool.path == "" {
		msg := fmt.Sprintf("%s is not available (%s): run hack/validators.sh", name, tool.why)
		if os.Getenv(consumerRequireEnv) == "1" {
			t.Fatalf("%s; %s=1 requires every consumer", msg, consumerRequireEnv)
		}
		t.Skip(msg)
	}
	return tool.path
}

// consumerFirstLine is the version line of --version output: the first
// line, or shellcheck's "version: X".
func consumerFirstLine(s string) string {
	s = strings.TrimSpace(s)
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(line, "version: "); ok {
			return "version " + strings.TrimSpace(v)
		}
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// consumerRun runs a consumer and returns its stdout and stderr.
func consumerRun(name string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), consumerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=", "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}
