package vm

import "syscall"

// procAttr puts QEMU in its own process group (Stop signals the group) and
// kills it when kubebake dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
