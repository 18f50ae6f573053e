package timeline

import (
	"bytes"
	"embed"
	"fmt"
	"regexp"
	"text/template"
	"time"

	"github.com/kubebake/kubebake/internal/shell"
)

//go:embed templates
var templates embed.FS

// Modes of the guest's timeline script.
const (
	ModeInit  = "init"
	ModeJoin  = "join"
	ModePlain = "plain"
)

// ScriptOptions describe one node's timeline script.
type ScriptOptions struct {
	// Node is the node's name (its Node in the cluster).
	Node string
	// Mode is init, join (a kubebake-firstboot node; kubectl reads its
	// Node with admin.conf or with the kubelet's own kubelet.conf) or
	// plain (no firstboot: the boot only).
	Mode string
	// BootWait bounds the wait for firstboot's result and, after it, the
	// wait for systemd to finish booting; ReadyWait the wait for the
	// Node's Ready after firstboot's result.
	ReadyWait, BootWait time.Duration
}

type scriptData struct {
	Node, Mode, Kubeconfig, ChainOf   string
	ReadyWaitSeconds, BootWaitSeconds int
	Units                             []string
}

// Script renders the guest's timeline script for o.
func Script(o ScriptOptions) ([]byte, error) {
	d := scriptData{Node: o.Node, Mode: o.Mode, ReadyWaitSeconds: int(o.ReadyWait.Seconds()), BootWaitSeconds: int(o.BootWait.Seconds()), Units: Units, ChainOf: "kubebake-firstboot.service"}
	switch o.Mode {
	case ModeInit:
		d.Kubeconfig = "/etc/kubernetes/admin.conf"
	case ModeJoin:
		d.Kubeconfig = "/etc/kubernetes/kubelet.conf"
	case ModePlain:
		d.ChainOf = "multi-user.target"
	default:
		return nil, fmt.Errorf("timeline script: mode %q: want %s, %s or %s", o.Mode, ModeInit, ModeJoin, ModePlain)
	}
	if o.Node == "" {
		return nil, fmt.Errorf("timeline script: no node name")
	}
	if d.ReadyWaitSeconds < 1 || d.BootWaitSeconds < 1 {
		return nil, fmt.Errorf("timeline script: the waits must be at least a second (ready %s, boot %s)", o.ReadyWait, o.BootWait)
	}
	t, err := template.New("timeline.sh.tmpl").Funcs(template.FuncMap{"q": shell.Quote}).ParseFS(templates, "templates/timeline.sh.tmpl")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// DoneRE matches node's last timeline line.
func DoneRE(node string) *regexp.Regexp {
	return regexp.MustCompile(regexp.QuoteMeta(LinePrefix+node) + ` DONE[^\r\n]*`)
}
