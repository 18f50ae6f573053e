//go:build unix && !linux

package vm

import "syscall"

// procAttr puts QEMU in its own process group (Stop signals the group).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
