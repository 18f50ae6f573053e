package sys

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

// EndGroupOnCancel makes a cancelled context kill cmd. Windows has no
// process groups to signal: the process is ended at once, and grace is
// how long its output may still drain.
func EndGroupOnCancel(cmd *exec.Cmd, grace time.Duration) {
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	cmd.WaitDelay = grace
}

// KillGroup ends the process pgid (Windows has no process groups to
// signal; any signal ends it).
func KillGroup(pgid int, _ syscall.Signal) error {
	return Kill(pgid, syscall.SIGKILL)
}

// Kill ends the process pid (any signal ends it).
func Kill(pid int, _ syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
