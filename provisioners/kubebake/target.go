package kubebake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync/atomic"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kubebake/kubebake/internal/shell"
	"github.com/kubebake/kubebake/internal/sys"
)

// commTarget is an apply.Target reached through a Packer communicator:
// uploads land in a user-writable temp directory and move into place as
// root; scripts are uploaded and run with execute_command.
type commTarget struct {
	comm    packersdk.Communicator
	tmp     string
	command func(path string) (string, error)
	n       atomic.Int64
}

func (t *commTarget) tempPath(kind string) string {
	return path.Join(t.tmp, fmt.Sprintf("kubebake-%s-%d-%d", kind, os.Getpid(), t.n.Add(1)))
}

// Upload sends content to a temp file, then installs it at dst with mode,
// owned by root, creating its directories.
func (t *commTarget) Upload(ctx context.Context, dst string, content io.Reader, _ int64, mode os.FileMode) error {
	tmp := t.tempPath("upload")
	if err := t.comm.Upload(tmp, content, nil); err != nil {
		return fmt.Errorf("upload %s: %w", dst, err)
	}
	script := fmt.Sprintf("install -D -o root -g root -m %04[2]o -- %[1]s %[3]s\nrc=$?\nrm -f -- %[1]s\nexit $rc\n",
		shell.Quote(tmp), mode.Perm(), shell.Quote(dst))
	var out bytes.Buffer
	code, err := t.Run(ctx, script, &out)
	if err != nil || code != 0 {
		return fmt.Errorf("install %s: exit code %d: %v: %s", dst, code, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Run uploads the script and runs it with execute_command; the script
// removes itself first.
func (t *commTarget) Run(ctx context.Context, script string, out io.Writer) (int, error) {
	p := t.tempPath("run") + ".sh"
	body := "#!/usr/bin/env bash\nrm -f -- " + shell.Quote(p) + "\n" + script + "\n"
	if err := t.comm.Upload(p, strings.NewReader(body), nil); err != nil {
		return -1, fmt.Errorf("upload script: %w", err)
	}
	command, err := t.command(p)
	if err != nil {
		return -1, err
	}
	w := &sys.LockedWriter{W: out}
	cmd := &packersdk.RemoteCmd{Command: command, Stdout: w, Stderr: w}
	if err := t.comm.Start(ctx, cmd); err != nil {
		return -1, fmt.Errorf("start %q: %w", command, err)
	}
	// The communicator does not stop a command when ctx ends; stop waiting
	// for it, so that a cancelled build tears the machine down at once.
	exited := make(chan int, 1)
	go func() { exited <- cmd.Wait() }()
	var code int
	select {
	case code = <-exited:
	case <-ctx.Done():
		return -1, fmt.Errorf("cancelled while running %q: %w", command, ctx.Err())
	}
	if code == packersdk.CmdDisconnect {
		return code, fmt.Errorf("the machine disconnected while running %q", command)
	}
	return code, nil
}
