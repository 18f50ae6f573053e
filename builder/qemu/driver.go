package qemu

import (
	"context"
	"time"

	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/vm"
)

// Driver is what the steps need of the host; tests give them a mock.
type Driver interface {
	// QemuImg runs qemu-img with args and returns its standard output.
	QemuImg(ctx context.Context, args ...string) (string, error)
	// ResolveAccel turns auto into kvm or tcg, with the reason.
	ResolveAccel(ctx context.Context, mode string) (accel, why string, err error)
	// Firmware finds OVMF and copies its variables into work.
	Firmware(code, vars, work string) (string, string, error)
	// Start runs QEMU with args, its console going to serialLog.
	Start(args []string, serialLog string) (Machine, error)
}

// Machine is a running QEMU process.
type Machine interface {
	Wait(ctx context.Context, timeout time.Duration) error
	Exited() bool
	Stop(grace time.Duration)
	Serial() []byte
}

// hostDriver is the Driver on this machine.
type hostDriver struct {
	qemu, qemuImg string
	runner        sys.Runner
}

func (d *hostDriver) QemuImg(ctx context.Context, args ...string) (string, error) {
	c := sys.Command(d.qemuImg, args...)
	c.StdoutOnly = true
	out, err := d.runner.Run(ctx, c)
	return string(out), err
}

func (d *hostDriver) ResolveAccel(ctx context.Context, mode string) (string, string, error) {
	return vm.ResolveAccel(ctx, mode, d.qemu)
}

func (d *hostDriver) Firmware(code, vars, work string) (string, string, error) {
	return vm.Firmware(code, vars, work)
}

func (d *hostDriver) Start(args []string, serialLog string) (Machine, error) {
	return vm.Start(d.qemu, args, serialLog)
}
