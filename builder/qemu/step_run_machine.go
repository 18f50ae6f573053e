package qemu

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

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
		if port, err = freePort(); err != nil {
			return halt(state, err)
		}
		state.Put(keySSHPort, port)
	}
	seed, _ := state.Get(keySeed).(string)
	ign, _ := state.Get(keyIgnition).(string)
	serial := c.SerialLog
	if serial == "" {
		serial = filepath.Join(work, "serial.log")
	} else if abs, err := filepath.Abs(serial); err == nil {
		serial = abs
	}
	mc := machineConfig(c, accel, state.Get(keyOverlay).(string), seed, ign, serial, port)
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
	ui.Say(fmt.Sprintf("Starting %s (console: %s)", c.QemuBinary, serial))
	m, err := d.Start(args, serial)
	if err != nil {
		return haltf(state, "start QEMU: %w", err)
	}
	s.machine = m
	state.Put(keyMachine, m)
	return multistep.ActionContinue
}

func (s *stepRunMachine) Cleanup(state multistep.StateBag) {
	if s.machine != nil {
		s.machine.Stop(10 * time.Second)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
