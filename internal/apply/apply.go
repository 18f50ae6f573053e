// Package apply applies a rendered plan to a target — a chroot, or a
// machine reached through a Packer communicator or SSH: it stages the plan's
// files, step scripts and inputs, runs the steps in order with their names
// and streamed output, and stops at the first failing step with that step's
// name and the tail of its output.
package apply

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/kubebake/kubebake/internal/shell"
	"github.com/kubebake/kubebake/recipes/render"
)

// Target is where a plan is applied.
type Target interface {
	// Upload writes a file on the target, creating its directories.
	Upload(ctx context.Context, dst string, content io.Reader, size int64, mode os.FileMode) error
	// Run runs a bash script on the target as root, streaming its combined
	// output to out, and returns its exit code.
	Run(ctx context.Context, script string, out io.Writer) (exitCode int, err error)
}

// Options configure Apply.
type Options struct {
	// Stage is the staging directory on the target (default render.Stage).
	Stage string
	// Inputs maps input names to host files; it overrides the plan's
	// HostPath and must supply inputs without one (kubebake-firstboot).
	Inputs map[string]string
	// Progress receives one line per step with its elapsed time, and the
	// steps' output prefixed with their names.
	Progress io.Writer
	// KeepStage leaves the staging directory on the target.
	KeepStage bool
	// StageDisk says the target has the disk WriteStageDisk wrote attached
	// (serial StageDiskSerial): the stage is unpacked from it instead of
	// uploaded.
	StageDisk bool
	// Now tells time (default time.Now).
	Now func() time.Time
	// BeforeStep, when set, runs before each step with its name; an error
	// stops the apply (the Packer provisioner runs its node checks before
	// the seal step this way).
	BeforeStep func(ctx context.Context, step string) error
}

// StepResult is what one step did.
type StepResult struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration"`
	ExitCode int           `json:"exitCode"`
}

// StepError is a step that failed, with the tail of its output.
type StepError struct {
	Step     string
	ExitCode int
	Tail     string
	Err      error
}

func (e *StepError) Error() string {
	msg := fmt.Sprintf("step %s failed", e.Step)
	if e.ExitCode >= 0 {
		msg += fmt.Sprintf(" with exit code %d", e.ExitCode)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Tail != "" {
		msg += "\n--- last lines of its output ---\n" + e.Tail
	}
	return msg
}

func (e *StepError) Unwrap() error { return e.Err }

// Apply stages p on t and runs its steps in order.
func Apply(ctx context.Context, t Target, p *render.Plan, o Options) ([]StepResult, error) {
	if o.Stage == "" {
		o.Stage = render.Stage
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	start := o.Now()
	if err := stage(ctx, t, p, o); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Progress, "kubebake: staged %d files, %d steps and %d inputs in %s (%s)\n",
		len(p.Files), len(p.Steps), len(p.Inputs), o.Stage, o.Now().Sub(start).Round(time.Millisecond))
	var results []StepResult
	for i, s := range p.Steps {
		if err := ctx.Err(); err != nil {
			return results, fmt.Errorf("cancelled before step %s: %w", s.Name, err)
		}
		if o.BeforeStep != nil {
			if err := o.BeforeStep(ctx, s.Name); err != nil {
				return results, err
			}
		}
		fmt.Fprintf(o.Progress, "kubebake: [%d/%d] %s: %s\n", i+1, len(p.Steps), s.Name, s.Description)
		tail := &tailWriter{max: 40}
		out := io.MultiWriter(&prefixWriter{w: o.Progress, prefix: "  " + s.Name + " | "}, tail)
		stepStart := o.Now()
		script := "KUBEBAKE_STAGE=" + shell.Quote(o.Stage) + " exec bash " + shell.Quote(path.Join(o.Stage, s.Script))
		code, err := t.Run(ctx, script, out)
		d := o.Now().Sub(stepStart)
		results = append(results, StepResult{Name: s.Name, Duration: d, ExitCode: code})
		if err != nil || code != 0 {
			return results, &StepError{Step: s.Name, ExitCode: code, Tail: tail.String(), Err: err}
		}
		fmt.Fprintf(o.Progress, "kubebake: [%d/%d] %s done in %s\n", i+1, len(p.Steps), s.Name, d.Round(time.Millisecond))
	}
	if !o.KeepStage {
		if r, ok := t.(StageRemover); ok {
			if err := r.RemoveStage(ctx, o.Stage); err != nil {
				return results, fmt.Errorf("remove %s on the target: %w", o.Stage, err)
			}
		} else if code, err := t.Run(ctx, "rm -rf "+shell.Quote(o.Stage), io.Discard); err != nil || code != 0 {
			return results, fmt.Errorf("remove %s on the target: exit code %d: %v", o.Stage, code, err)
		}
	}
	fmt.Fprintf(o.Progress, "kubebake: %d steps done in %s\n", len(p.Steps), o.Now().Sub(start).Round(time.Millisecond))
	return results, nil
}

// stage uploads the plan's files, steps and inputs, or with StageDisk
// unpacks them from the disk WriteStageDisk wrote.
func stage(ctx context.Context, t Target, p *render.Plan, o Options) error {
	if o.StageDisk {
		return stageFromDisk(ctx, t, o.Stage, o.Progress)
	}
	entries, err := stageEntries(p, o.Inputs)
	if err != nil {
		return err
	}
	for _, e := range entries {
		dst := path.Join(o.Stage, e.rel)
		if e.host != "" {
			if err := uploadFile(ctx, t, e.host, dst, e.mode); err != nil {
				return fmt.Errorf("input %s: %w", path.Base(e.rel), err)
			}
			continue
		}
		if err := t.Upload(ctx, dst, bytes.NewReader(e.data), int64(len(e.data)), e.mode); err != nil {
			return fmt.Errorf("stage %s: %w", e.rel, err)
		}
	}
	return nil
}

func uploadFile(ctx context.Context, t Target, host, dst string, mode os.FileMode) error {
	f, err := os.Open(host)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", host)
	}
	// A target that can show the file where it is need not copy it; a lent
	// file keeps its own mode, so only one with the mode wanted is lent.
	if l, ok := t.(FileLender); ok && info.Mode().Perm() == mode.Perm() {
		if lent, err := l.LendFile(ctx, host, dst); lent || err != nil {
			return err
		}
	}
	return t.Upload(ctx, dst, f, info.Size(), mode)
}

// prefixWriter prefixes every line.
type prefixWriter struct {
	w       io.Writer
	prefix  string
	midLine bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var out bytes.Buffer
	for _, c := range b {
		if !p.midLine {
			out.WriteString(p.prefix)
			p.midLine = true
		}
		out.WriteByte(c)
		if c == '\n' {
			p.midLine = false
		}
	}
	if _, err := p.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// tailWriter keeps the last max lines.
type tailWriter struct {
	max   int
	lines []string
	cur   strings.Builder
}

func (t *tailWriter) Write(b []byte) (int, error) {
	for _, c := range b {
		if c == '\n' {
			t.lines = append(t.lines, t.cur.String())
			t.cur.Reset()
			if len(t.lines) > t.max {
				t.lines = t.lines[1:]
			}
			continue
		}
		t.cur.WriteByte(c)
	}
	return len(b), nil
}

func (t *tailWriter) String() string {
	lines := t.lines
	if t.cur.Len() > 0 {
		lines = append(append([]string{}, lines...), t.cur.String())
	}
	return strings.Join(lines, "\n")
}
