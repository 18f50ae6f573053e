package vm

import "fmt"

// Renice is not supported on Windows: it has no per-thread nice values.
func Renice(pid, nice int) error {
	return fmt.Errorf("renice %d to %d: not supported on Windows", pid, nice)
}
