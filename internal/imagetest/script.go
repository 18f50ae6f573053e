package imagetest

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/internal/shell"
)

//go:embed templates/check.sh.tmpl
var templateFS embed.FS

// scriptData is what the in-guest checks expect of the image.
type scriptData struct {
	// Console is where results go: /dev/ttyS1 in a test boot, /dev/stdout
	// in a build.
	Console  string
	Endpoint string
	Runtime  string
	Version  string
	Services []string
	// CgroupCheck is the runtime's command that succeeds when the systemd
	// cgroup driver is in force; CgroupCheckDesc describes it.
	CgroupCheck, CgroupCheckDesc string
	Modules                      []string
	Sysctls                      []kv
	Images                       []api.Image
	IgnoreImagePull              bool
	ExpectNode                   bool
	FirstbootWaitSeconds         int
	RuntimeWaitSeconds           int
	PowerOff                     bool
	// HoldCheck, when set, is the command that succeeds when the
	// Kubernetes packages are held at the version (packages source).
	HoldCheck string
	// InBuild checks the machine being baked: services are restarted first,
	// firstboot's own result is not awaited, and preflight ignores the
	// build machine's size.
	InBuild bool
}

type kv struct{ Key, Value string }

// parseModules reads a modules-load.d file.
func parseModules(b []byte) []string {
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// parseSysctls reads a sysctl.d file.
func parseSysctls(b []byte) []kv {
	var out []kv
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok {
			out = append(out, kv{strings.TrimSpace(k), strings.TrimSpace(v)})
		}
	}
	return out
}

// checkScript renders the in-guest check script.
func checkScript(d scriptData) ([]byte, error) {
	if d.Console == "" {
		d.Console = "/dev/ttyS1"
	}
	t, err := template.New("check").Funcs(template.FuncMap{
		"q": shell.Quote,
		"pinnedExpr": func(pinned bool) string {
			if pinned {
				return "s.get('pinned') is True"
			}
			return "True"
		},
	}).ParseFS(templateFS, "templates/check.sh.tmpl")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "check.sh.tmpl", d); err != nil {
		return nil, fmt.Errorf("render check script: %w", err)
	}
	return b.Bytes(), nil
}
