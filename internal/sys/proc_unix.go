//go:build unix

package sys

import (
	"errors"
	"os/exec"
	"syscall"
	"time"
)

// EndGroupOnCancel gives cmd (not yet started) a process group of its own
// and makes a cancelled context end the whole group: SIGTERM, so that
// traps can clean up, then SIGKILL after grace for what is still there.
func EndGroupOnCancel(cmd *exec.Cmd, grace time.Duration) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		pgid := cmd.Process.Pid
		time.AfterFunc(grace, func() { _ = KillGroup(pgid, syscall.SIGKILL) })
		if err := KillGroup(pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
		return nil
	}
}

// KillGroup sends sig to the process group pgid (a process started with
// EndGroupOnCancel leads one of its own).
func KillGroup(pgid int, sig syscall.Signal) error {
	return syscall.Kill(-pgid, sig)
}

// Kill sends sig to the process pid.
func Kill(pid int, sig syscall.Signal) error {
	return syscall.Kill(pid, sig)
}
