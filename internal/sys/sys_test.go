package sys_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/sys"
)

func TestCmdString(t *testing.T) {
	t.Parallel()
	c := sys.Command("chroot", "/r", "sh", "-c", "echo hi")
	c.Env = []string{"A=b c"}
	assert.Equal(t, `'A=b c' chroot /r sh -c 'echo hi'`, c.String())
}

func TestTail(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{name: "empty", in: "", n: 3, want: ""},
		{name: "short", in: "a\nb\n", n: 3, want: "a\nb"},
		{name: "exact", in: "a\nb\nc", n: 3, want: "a\nb\nc"},
		{name: "long", in: "a\nb\nc\nd\n", n: 2, want: "[... 2 lines before ...]\nc\nd"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, sys.Tail([]byte(tc.in), tc.n))
		})
	}
}

func TestExecRun(t *testing.T) {
	t.Parallel()
	var stream strings.Builder
	out, err := sys.Exec{Stream: &stream}.Run(context.Background(), sys.Cmd{
		Name: "sh", Args: []string{"-c", `echo out; echo err >&2; echo "$KB_X"`}, Env: []string{"KB_X=x"}})
	require.NoError(t, err)
	assert.Equal(t, "out\nerr\nx\n", string(out))
	assert.Equal(t, "out\nerr\nx\n", stream.String())
}

// TestExecRunCmdStream: a command's own Stream receives its output in
// place of the runner's, so nothing is shown twice.
func TestExecRunCmdStream(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                string
		runnerStream        bool
		wantCmd, wantRunner string
	}{
		{name: "command stream alone", wantCmd: "out\nerr\n"},
		{name: "command stream before the runner's", runnerStream: true, wantCmd: "out\nerr\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var cmdStream, runnerStream strings.Builder
			x := sys.Exec{}
			if tc.runnerStream {
				x.Stream = &runnerStream
			}
			c := sys.Command("sh", "-c", "echo out; echo err >&2")
			c.Stream = &cmdStream
			out, err := x.Run(context.Background(), c)
			require.NoError(t, err)
			assert.Equal(t, "out\nerr\n", string(out))
			assert.Equal(t, tc.wantCmd, cmdStream.String())
			assert.Equal(t, tc.wantRunner, runnerStream.String())
		})
	}
}

func TestExecRunError(t *testing.T) {
	t.Parallel()
	script := "for i in $(seq 0 39); do echo line $i; done; echo 'E: no space left' >&2; exit 3"
	_, err := sys.Exec{}.Run(context.Background(), sys.Command("sh", "-c", script))
	var re *sys.RunError
	require.ErrorAs(t, err, &re)
	assert.Contains(t, re.Command, "sh -c ")
	assert.Contains(t, string(re.Output), "line 0\n")
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 3, exit.ExitCode())
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, "command failed: sh -c "), msg)
	assert.Contains(t, msg, "exit status 3")
	assert.Contains(t, msg, "E: no space left")
	assert.Contains(t, msg, "[... 16 lines before ...]")
	assert.NotContains(t, msg, "line 0\n")
}

func TestExecRunNotFound(t *testing.T) {
	t.Parallel()
	_, err := sys.Exec{}.Run(context.Background(), sys.Command("kubebake-no-such-program"))
	var re *sys.RunError
	require.ErrorAs(t, err, &re)
	assert.ErrorIs(t, err, exec.ErrNotFound)
	assert.Contains(t, err.Error(), "kubebake-no-such-program")
}

// TestExecCancelKillsGroup checks that cancelling ends the command's children
// too: sh's sleep would otherwise hold the output pipe open.
func TestExecCancelKillsGroup(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := sys.Exec{}.Run(ctx, sys.Command("sh", "-c", "sleep 30; echo done"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	assert.Less(t, time.Since(start), 5*time.Second)
}
