// Package sys runs host commands behind an interface, so code that drives
// debootstrap, mkfs.ext4 or qemu-img can be tested with a fake runner. A
// failed command comes back as a *RunError that names the command and holds
// its output, so the user sees why it failed. It also holds the small
// helpers every package shares: Tail, Sleep and LockedWriter.
package sys

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/kubebake/kubebake/internal/shell"
)

// Cmd is a command to run.
type Cmd struct {
	// Name is the program, looked up in PATH when it has no slash.
	Name string
	// Args are the arguments after Name.
	Args []string
	// Env holds KEY=VALUE pairs added to the process's own environment.
	Env []string
	// StdoutOnly makes Run return standard output alone (a failure's
	// RunError still holds both), for commands whose output is data.
	StdoutOnly bool
	// Stream, when not nil, also receives the output as the command runs
	// (in place of Exec.Stream), e.g. qemu-img's progress for a terminal.
	// Runners that do not stream ignore it.
	Stream io.Writer
}

// Command returns the Cmd that runs name with args.
func Command(name string, args ...string) Cmd {
	return Cmd{Name: name, Args: args}
}

// String is the command as a shell would read it, environment first.
func (c Cmd) String() string {
	words := make([]string, 0, len(c.Env)+1+len(c.Args))
	for _, e := range c.Env {
		words = append(words, shell.Quote(e))
	}
	words = append(words, shell.Quote(c.Name))
	for _, a := range c.Args {
		words = append(words, shell.Quote(a))
	}
	return strings.Join(words, " ")
}

// Runner runs commands to completion.
type Runner interface {
	// Run runs c and returns its combined standard output and error. When c
	// fails to start or exits with an error, the error is a *RunError.
	Run(ctx context.Context, c Cmd) ([]byte, error)
}

// RunError is a command that failed: the command line, what it printed and
// why it failed (an exit status, a signal, or a start failure).
type RunError struct {
	Command string
	Output  []byte
	Inner   error
}

// errorTailLines is how many of the last output lines Error shows.
const errorTailLines = 25

// Error names the command and shows the end of its output.
func (e *RunError) Error() string {
	msg := fmt.Sprintf("command failed: %s: %v", e.Command, e.Inner)
	if tail := Tail(e.Output, errorTailLines); tail != "" {
		msg += "\noutput:\n" + tail
	}
	return msg
}

// Unwrap returns the cause.
func (e *RunError) Unwrap() error { return e.Inner }

// Tail returns the last n lines of out, without a trailing newline, and with
// a first line saying how many were left out, if any.
func Tail(out []byte, n int) string {
	s := strings.TrimRight(string(out), "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	return fmt.Sprintf("[... %d lines before ...]\n", len(lines)-n) + strings.Join(lines[len(lines)-n:], "\n")
}

// Sleep waits d or until ctx is done, whichever comes first; it returns
// ctx's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// LockedWriter serializes writes to W, so a command's standard output and
// error copiers can share it.
type LockedWriter struct {
	mu sync.Mutex
	W  io.Writer
}

// Write writes b to W under the lock.
func (l *LockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.W.Write(b)
}

// Exec runs commands on the host.
type Exec struct {
	// Stream, when not nil, also receives the output as the command runs.
	Stream io.Writer
}

// killGrace is how long a cancelled command's process group has between
// SIGTERM and SIGKILL.
const killGrace = 10 * time.Second

// Run runs c. The command gets its own process group, and a cancelled ctx
// ends the whole group (debootstrap's dpkg, say), not only the first process.
func (x Exec) Run(ctx context.Context, c Cmd) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	var out, stdout bytes.Buffer
	var w io.Writer = &out
	if stream := cmp.Or(c.Stream, x.Stream); stream != nil {
		w = io.MultiWriter(&out, stream)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if c.StdoutOnly {
		cmd.Stdout = io.MultiWriter(w, &stdout)
	}
	EndGroupOnCancel(cmd, killGrace)
	cmd.WaitDelay = killGrace
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return out.Bytes(), &RunError{Command: c.String(), Output: out.Bytes(), Inner: err}
	}
	if c.StdoutOnly {
		return stdout.Bytes(), nil
	}
	return out.Bytes(), nil
}
