//go:build unix

package vm

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// Renice sets the nice value of every thread of process pid (Linux keeps
// one per thread: setpriority on the process changes its first thread
// only, and QEMU runs each virtual CPU on a thread of its own).
func Renice(pid, nice int) error {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("renice %d: %w", pid, err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil && err != syscall.ESRCH {
			return fmt.Errorf("renice thread %d of %d to %d: %w", tid, pid, nice, err)
		}
	}
	return nil
}
