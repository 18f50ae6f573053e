package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/vm"
)

// stepRunMachine chooses the accelerator and firmware, starts QEMU on the
// overlay with the seed or the Ignition config, and stops it at cleanup
// (a build that failed or was cancelled leaves no process behind).
type stepRunMachine struct {
	config  *Config
	forward bool
	machine Machine
}

func (s *stepRunMachine) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	c := s.config
	d := state.Get(keyDriver).(Driver)
	ui := state.Get(keyUI).(packersdk.Ui)
	work := state.Get(keyWorkDir).(string)
	accel, why, err := d.ResolveAccel(ctx, c.Accelerator)
	if err != nil {
		return haltf(state, "accelerator: %w", err)
	}
	ui.Say(fmt.Sprintf("Accelerator %s (%s)", accel, why))
	state.Put(keyAccel, accel)
	port := 0
	if s.forward {
		if port, err = vm.FreePort(); err != nil {
			return halt(state, err)
		}
		state.Put(keySSHPort, port)
	}
	seed, _ := state.Get(keySeed).(string)
	ign, _ := state.Get(keyIgnition).(string)
	stage, _ := state.Get(keyStageDisk).(string)
	serial := c.SerialLog
	if serial == "" {
		serial = filepath.Join(work, "serial.log")
	} else if abs, err := filepath.Abs(serial); err == nil {
		serial = abs
	}
	mc := machineConfig(c, accel, state.Get(keyOverlay).(string), seed, stage, ign, serial, port)
	if c.Firmware != "bios" {
		code, vars, err := d.Firmware(c.OVMFCode, c.OVMFVars, work)
		switch {
		case err == nil:
			mc.OVMFCode, mc.OVMFVars = code, vars
		case c.Firmware == "uefi":
			return haltf(state, "firmware: %w", err)
		default:
			ui.Say(fmt.Sprintf("%v; booting with the BIOS", err))
		}
	}
	args, err := vm.Args(mc)
	if err != nil {
		return halt(state, err)
	}
	for attempt := 1; ; attempt++ {
		ui.Say(fmt.Sprintf("Starting %s (console: %s)", c.QemuBinary, serial))
		m, err := d.Start(args, serial)
		if err != nil {
			return haltf(state, "start QEMU: %w", err)
		}
		s.machine = m
		state.Put(keyMachine, m)
		if !s.forward {
			return multistep.ActionContinue
		}
		// Wait for sshd's banner here rather than in the communicator, so
		// that a guest whose kernel died fails at once with its console,
		// and is booted once more: under TCG, recent kernels rarely hit an
		// int3 Oops while patching their own text at boot (seen here once in
		// a few dozen boots).
		err = waitForSSH(ctx, m, port, c.Comm.SSHTimeout)
		if err == nil {
			return multistep.ActionContinue
		}
		m.Stop(10 * time.Second)
		s.machine = nil
		if errors.Is(err, errKernelPanic) && attempt < 2 {
			ui.Say(fmt.Sprintf("The guest's kernel panicked at boot; booting once more\n--- console tail ---\n%s", sys.Tail(m.Serial(), 8)))
			continue
		}
		return haltf(state, "boot: %w\n--- console tail ---\n%s", err, sys.Tail(m.Serial(), 20))
	}
}

var errKernelPanic = errors.New("the guest's kernel panicked")

// waitForSSH waits until the forwarded port answers with an SSH banner; it
// fails early when the kernel panics or QEMU exits.
func waitForSSH(ctx context.Context, m Machine, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		if bytes.Contains(m.Serial(), []byte("Kernel panic - not syncing")) {
			return errKernelPanic
		}
		if m.Exited() {
			return errors.New("QEMU exited before sshd answered")
		}
		if conn, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			banner := make([]byte, 4)
			_, rerr := io.ReadFull(conn, banner)
			conn.Close()
			if rerr == nil && string(banner) == "SSH-" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sshd did not answer on %s within %s (ssh_timeout)", addr, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func (s *stepRunMachine) Cleanup(state multistep.StateBag) {
	if s.machine != nil {
		s.machine.Stop(10 * time.Second)
	}
}
