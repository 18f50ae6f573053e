package sys_test

import (
	"bufio"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/sys"
)

// TestEndGroupOnCancel: a cancelled command's whole group ends, also a
// child that ignores SIGTERM, once the grace has passed.
func TestEndGroupOnCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "sh", "-c", `trap "" TERM; sleep 60 & echo $!; wait`)
	sys.EndGroupOnCancel(cmd, 200*time.Millisecond)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	child, err := strconv.Atoi(strings.TrimSpace(line))
	require.NoError(t, err)
	cancel()
	_ = cmd.Wait()
	assert.Eventually(t, func() bool { return syscall.Kill(child, 0) == syscall.ESRCH }, 5*time.Second, 50*time.Millisecond,
		"the child that ignores SIGTERM is killed after the grace")
}
