package cli_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/internal/sys"
)

func TestLevel(t *testing.T) {
	t.Parallel()
	cases := []struct {
		verbosity int
		want      slog.Level
	}{
		{-1, slog.LevelInfo}, {0, slog.LevelInfo}, {1, slog.LevelDebug}, {2, cli.LevelTrace}, {5, cli.LevelTrace},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, cli.Level(tc.verbosity), "-v x %d", tc.verbosity)
	}
	assert.Less(t, cli.LevelTrace, slog.LevelDebug)
}

// TestLoggerLines: one human line per record in kubebake's progress style,
// attributes as slog's text format writes them.
func TestLoggerLines(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		log  func(l *slog.Logger)
		want string
	}{
		{name: "info has no tag", log: func(l *slog.Logger) { l.Info("image written") }, want: "kubebake: image written\n"},
		{name: "attributes", log: func(l *slog.Logger) {
			l.Info("image written", "path", "out/x.qcow2", "bytes", 42, "took", 1500*time.Millisecond)
		}, want: "kubebake: image written path=out/x.qcow2 bytes=42 took=1.5s\n"},
		{name: "quoted values", log: func(l *slog.Logger) { l.Info("run", "cmd", "qemu-img convert -q a b", "empty", "") },
			want: "kubebake: run cmd=\"qemu-img convert -q a b\" empty=\"\"\n"},
		{name: "debug", log: func(l *slog.Logger) { l.Debug("run", "cmd", "losetup") }, want: "kubebake: debug: run cmd=losetup\n"},
		{name: "trace reads as debug", log: func(l *slog.Logger) { l.Log(context.Background(), cli.LevelTrace, "output") },
			want: "kubebake: debug: output\n"},
		{name: "warning", log: func(l *slog.Logger) { l.Warn("zerofree missing") }, want: "kubebake: warning: zerofree missing\n"},
		{name: "error", log: func(l *slog.Logger) { l.Error("failed", "err", errors.New("exit status 1")) },
			want: "kubebake: error: failed err=\"exit status 1\"\n"},
		{name: "with attributes and groups", log: func(l *slog.Logger) {
			l.With("recipe", "debian-13").WithGroup("vm").Info("booted", "accel", "tcg")
		}, want: "kubebake: booted recipe=debian-13 vm.accel=tcg\n"},
		{name: "a key called msg in a group stays", log: func(l *slog.Logger) { l.WithGroup("g").Info("m", "msg", "x", "level", 1) },
			want: "kubebake: m g.msg=x g.level=1\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			tc.log(cli.NewLogger(&out, cli.LevelTrace))
			assert.Equal(t, tc.want, out.String())
		})
	}
}

// TestLoggerLevel: records below the level are dropped, and a LevelVar set
// after the logger is made (from -v, once the flags are parsed) takes
// effect.
func TestLoggerLevel(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	level := new(slog.LevelVar)
	l := cli.NewLogger(&out, level)
	l.Debug("hidden")
	l.Info("shown")
	level.Set(cli.Level(1))
	l.Debug("now shown")
	l.Log(context.Background(), cli.LevelTrace, "still hidden")
	assert.Equal(t, "kubebake: shown\nkubebake: debug: now shown\n", out.String())
}

// TestLoggerConcurrent: lines from many goroutines (and loggers derived
// with With) never mix.
func TestLoggerConcurrent(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	l := cli.NewLogger(&sys.LockedWriter{W: &out}, slog.LevelInfo)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := l.With("worker", i)
			for range 50 {
				d.Info("step", "n", strings.Repeat("x", 20))
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 400)
	for _, line := range lines {
		assert.Regexp(t, `^kubebake: step worker=\d n=x{20}$`, line)
	}
}
