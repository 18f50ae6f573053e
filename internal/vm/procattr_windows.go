package vm

import "syscall"

// procAttr starts QEMU in a process group of its own; Stop ends the
// process itself (Windows has no group signals).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}
