// Command qemuenv tells a hack script how to start QEMU on this machine, so
// that scripts which run qemu-system-x86_64 themselves resolve the
// accelerator and find the firmware as the product does (internal/vm): KVM
// only when it really runs a UEFI guest here, TCG otherwise, with the CPU
// model that works under each. It prints KEY=VALUE lines:
//
//	accel  kvm or tcg
//	cpu    the guest CPU model for that accelerator
//	code   OVMF's code (read-only)
//	vars   a copy of OVMF's variables in -work, for the script to copy per boot
//
// and why the accelerator was chosen on stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/kubebake/kubebake/internal/vm"
)

func main() {
	accel := flag.String("accel", vm.AccelAuto, "auto, kvm or tcg")
	work := flag.String("work", "", "directory for the copy of OVMF's variables (required)")
	flag.Parse()
	if err := run(context.Background(), *accel, *work, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "qemuenv:", err)
		os.Exit(1)
	}
}

// run resolves the accelerator and the firmware and prints them to out.
func run(ctx context.Context, accel, work string, out, log io.Writer) error {
	if work == "" {
		return fmt.Errorf("-work: a directory is required")
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return fmt.Errorf("-work: %w", err)
	}
	a, why, err := vm.ResolveAccel(ctx, accel, "")
	if err != nil {
		return err
	}
	code, vars, err := vm.Firmware("", "", work)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "qemuenv: accelerator %s (%s)\n", a, why)
	_, err = fmt.Fprintf(out, "accel=%s\ncpu=%s\ncode=%s\nvars=%s\n", a, vm.DefaultCPU(a), code, vars)
	return err
}
