package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
)

// LevelTrace is -vv and more: debug, and the output of every command too.
const LevelTrace = slog.LevelDebug - 4

// Level maps the count of -v to a log level: none is info (the progress
// people see), -v debug (every host command with its arguments and
// duration), -vv trace (their output too).
func Level(verbosity int) slog.Level {
	switch {
	case verbosity <= 0:
		return slog.LevelInfo
	case verbosity == 1:
		return slog.LevelDebug
	default:
		return LevelTrace
	}
}

// NewLogger returns kubebake's logger: human lines on w in the style of
// kubebake's progress, "kubebake: message key=value ...", with "debug: ",
// "warning: " or "error: " before the message at those levels. Records
// below level are dropped; level may change later (a slog.LevelVar set
// from -v once the flags are parsed).
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	buf := &bytes.Buffer{}
	text := slog.NewTextHandler(buf, &slog.HandlerOptions{
		Level: slog.Level(math.MinInt), // the outer handler decides
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
				return slog.Attr{}
			}
			return a
		},
	})
	return slog.New(&lineHandler{out: w, level: level, mu: &sync.Mutex{}, buf: buf, attrs: text})
}

// lineHandler writes one line per record. slog's TextHandler, writing into
// buf without time, level and message, formats the attributes (quoting,
// groups, LogValuer), so they read as slog's text format does.
type lineHandler struct {
	out   io.Writer
	level slog.Leveler
	// mu guards buf and out, shared by the handlers WithAttrs and
	// WithGroup derive.
	mu    *sync.Mutex
	buf   *bytes.Buffer
	attrs slog.Handler
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *lineHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	if err := h.attrs.Handle(ctx, r); err != nil {
		return err
	}
	var line strings.Builder
	line.WriteString("kubebake: ")
	switch {
	case r.Level >= slog.LevelError:
		line.WriteString("error: ")
	case r.Level >= slog.LevelWarn:
		line.WriteString("warning: ")
	case r.Level < slog.LevelInfo:
		line.WriteString("debug: ")
	}
	line.WriteString(r.Message)
	if attrs := strings.TrimSpace(h.buf.String()); attrs != "" {
		line.WriteString(" ")
		line.WriteString(attrs)
	}
	line.WriteString("\n")
	_, err := io.WriteString(h.out, line.String())
	return err
}

func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = h.attrs.WithAttrs(as)
	return &c
}

func (h *lineHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.attrs = h.attrs.WithGroup(name)
	return &c
}
