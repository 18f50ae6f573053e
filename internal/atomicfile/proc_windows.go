package atomicfile

import "os"

// processRunning reports whether a process pid exists: on Windows,
// FindProcess opens the process and fails when there is none.
func processRunning(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}
