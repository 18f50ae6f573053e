package firstboot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
)

// Cmd is a command to run.
type Cmd struct {
	Name string
	Args []string
}

func (c Cmd) String() string { return strings.Join(append([]string{c.Name}, c.Args...), " ") }

// Result is what a command did: its exit code (-1 when it did not run) and
// its combined output.
type Result struct {
	ExitCode int
	Output   []byte
}

// Runner runs external commands. Output goes to log as it comes (the
// runner redacts nothing; callers pass a redacting writer).
type Runner interface {
	Run(ctx context.Context, c Cmd, log io.Writer) (Result, error)
}

// RunError is a failed command with its output.
type RunError struct {
	Cmd      Cmd
	ExitCode int
	Output   []byte
	Err      error
	// NotStarted means the command never ran (not found, not
	// executable); Err says why.
	NotStarted bool
}

func (e *RunError) Error() string {
	if e.NotStarted {
		return fmt.Sprintf("%s did not run: %v", e.Cmd.Name, e.Err)
	}
	return fmt.Sprintf("%s: exit code %d: %v", e.Cmd.Name, e.ExitCode, e.Err)
}

// notStarted reports whether err is a command that never ran.
func notStarted(err error) bool {
	var re *RunError
	return errors.As(err, &re) && re.NotStarted
}

func (e *RunError) Unwrap() error { return e.Err }

// ExecRunner runs commands with os/exec.
type ExecRunner struct{}

// Run runs c, streaming its output to log and keeping it.
func (ExecRunner) Run(ctx context.Context, c Cmd, log io.Writer) (Result, error) {
	var buf syncBuffer
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	w := io.MultiWriter(&buf, log)
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	res := Result{ExitCode: 0, Output: buf.Bytes()}
	if err != nil {
		res.ExitCode = -1
		var exit *exec.ExitError
		started := errors.As(err, &exit)
		if started {
			res.ExitCode = exit.ExitCode()
		}
		return res, &RunError{Cmd: c, ExitCode: res.ExitCode, Output: res.Output, Err: err, NotStarted: !started}
	}
	return res, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte{}, s.b.Bytes()...)
}
