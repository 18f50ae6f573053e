package cli_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/internal/sys"
)

// TestRunner: host commands are logged from -v on (with their duration,
// and why they failed), and their output streams from the runner's level
// on; a command's own stream (qemu-img's meter) is not shown twice.
func TestRunner(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		verbosity int
		streamAt  slog.Level
		script    string
		fails     bool
		want      []string
		wantNot   []string
	}{
		{name: "quiet", verbosity: 0, streamAt: cli.LevelTrace, script: "echo hello",
			wantNot: []string{"kubebake:", "hello"}},
		{name: "-v logs the command", verbosity: 1, streamAt: cli.LevelTrace, script: "echo hello",
			want:    []string{"kubebake: debug: run cmd=\"sh -c 'echo hello'\"\n", "kubebake: debug: done cmd=\"sh -c 'echo hello'\" duration="},
			wantNot: []string{"hello\n"}},
		{name: "-vv streams its output", verbosity: 2, streamAt: cli.LevelTrace, script: "echo hello",
			want: []string{"kubebake: debug: run cmd=", "\nhello\nkubebake: debug: done cmd="}},
		{name: "-v streams when the command asks from debug on (base)", verbosity: 1, streamAt: slog.LevelDebug, script: "echo hello",
			want: []string{"\nhello\nkubebake: debug: done cmd="}},
		{name: "a failure is logged with its cause", verbosity: 1, streamAt: cli.LevelTrace, script: "echo E: no space >&2; exit 3", fails: true,
			want:    []string{"kubebake: debug: failed cmd=\"sh -c 'echo E: no space >&2; exit 3'\" duration=", `err="exit status 3"`},
			wantNot: []string{"E: no space\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			w := &sys.LockedWriter{W: &stderr}
			r := cli.Runner(cli.NewLogger(w, cli.Level(tc.verbosity)), w, tc.streamAt)
			out, err := r.Run(context.Background(), sys.Command("sh", "-c", tc.script))
			if tc.fails {
				var re *sys.RunError
				require.ErrorAs(t, err, &re, "the runner's error is kept")
				assert.Contains(t, string(re.Output), "E: no space")
			} else {
				require.NoError(t, err)
				assert.Equal(t, "hello\n", string(out))
			}
			for _, s := range tc.want {
				assert.Contains(t, stderr.String(), s)
			}
			for _, s := range tc.wantNot {
				assert.NotContains(t, stderr.String(), s)
			}
		})
	}
}

// TestRunnerCommandStream: a command with a stream of its own (qemu-img's
// progress meter on a terminal) keeps it at -vv, so its output is shown
// once.
func TestRunnerCommandStream(t *testing.T) {
	t.Parallel()
	var stderr, meter bytes.Buffer
	r := cli.Runner(cli.NewLogger(&stderr, cli.LevelTrace), &stderr, cli.LevelTrace)
	c := sys.Command("sh", "-c", "echo 50%")
	c.Stream = &meter
	_, err := r.Run(context.Background(), c)
	require.NoError(t, err)
	assert.Equal(t, "50%\n", meter.String())
	assert.NotContains(t, stderr.String(), "50%\n")
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	assert.False(t, cli.IsTerminal(&bytes.Buffer{}), "not a file")
	f, err := os.CreateTemp(t.TempDir(), "log")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, cli.IsTerminal(f), "a regular file")
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	assert.False(t, cli.IsTerminal(w), "a pipe")
	if tty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0); err == nil {
		defer tty.Close()
		assert.True(t, cli.IsTerminal(tty), "a pseudo-terminal")
	}
}
