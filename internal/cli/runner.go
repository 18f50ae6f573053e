package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"golang.org/x/term"

	"github.com/kubebake/kubebake/internal/sys"
)

// Runner returns the host command runner of a command: sys.Exec, with
// each command logged at debug level before it starts and when it ends
// (with its duration), and its output streamed to stderr as it runs when
// log is enabled at streamAt (LevelTrace, -vv, for most commands).
func Runner(log *slog.Logger, stderr io.Writer, streamAt slog.Level) sys.Runner {
	r := loggedRunner{runner: sys.Exec{}, log: log}
	if log.Enabled(context.Background(), streamAt) {
		r.stream = stderr
	}
	return r
}

// loggedRunner logs the commands runner runs.
type loggedRunner struct {
	runner sys.Runner
	log    *slog.Logger
	// stream, when set, receives the output of every command that has no
	// stream of its own.
	stream io.Writer
}

func (l loggedRunner) Run(ctx context.Context, c sys.Cmd) ([]byte, error) {
	if c.Stream == nil && l.stream != nil {
		c.Stream = l.stream
	}
	cmd := c.String()
	l.log.DebugContext(ctx, "run", "cmd", cmd)
	start := time.Now()
	out, err := l.runner.Run(ctx, c)
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		// The error, with the output's tail, reaches the user anyway.
		why := err
		var re *sys.RunError
		if errors.As(err, &re) {
			why = re.Inner
		}
		l.log.DebugContext(ctx, "failed", "cmd", cmd, "duration", took, "err", why)
	} else {
		l.log.DebugContext(ctx, "done", "cmd", cmd, "duration", took)
	}
	return out, err
}

// IsTerminal reports whether w is a terminal (a file whose descriptor is
// one), where progress meters may be drawn.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}
