package bake

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/internal/apply"
	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/nocloud"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/vm"
	"github.com/kubebake/kubebake/recipes/render"
)

// VMOptions tune the vm mode.
type VMOptions struct {
	// Accel is auto, kvm or tcg; QEMU names the binary.
	Accel, QEMU string
	// OVMFCode and OVMFVars are the UEFI firmware (default: Debian's ovmf).
	OVMFCode, OVMFVars string
	// BootTimeout bounds the wait for SSH (default 15m).
	BootTimeout time.Duration
	// SerialLog keeps the machine's console when set.
	SerialLog string
}

// provisionVM boots the overlay under QEMU with the plan's staging
// directory on a disk of its own, applies the plan over SSH as an
// ephemeral build user, removes that user and powers the machine off.
func provisionVM(ctx context.Context, o Options, p *render.Plan, disk, work string) ([]apply.StepResult, *inspected, error) {
	v := o.VM
	if v.BootTimeout == 0 {
		v.BootTimeout = 15 * time.Minute
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, err
	}
	seed := filepath.Join(work, "seed.iso")
	if err := nocloud.WriteSeed(seed, nocloud.Seed{
		UserData: vm.BuildUserData(vm.BuildUser, signer.PublicKey()), MetaData: nocloud.DefaultMetaData("", "kubebake-build"),
	}); err != nil {
		return nil, nil, err
	}
	// The plan's files, steps and inputs go in on a disk of their own: an
	// SSH upload runs at the speed of the guest's cipher, about 1 MB/s
	// under TCG.
	stageDisk := filepath.Join(work, "stage.tar")
	t0 := time.Now()
	size, err := apply.WriteStageDisk(stageDisk, p, o.Inputs)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(o.Progress, "kubebake: stage disk of %.1f MB written in %s\n", float64(size)/1e6, time.Since(t0).Round(time.Millisecond))
	accel, why, err := vm.ResolveAccel(ctx, v.Accel, v.QEMU)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(o.Progress, "kubebake: booting the base under QEMU (accelerator %s: %s)\n", accel, why)
	port, err := vm.FreePort()
	if err != nil {
		return nil, nil, err
	}
	serial := v.SerialLog
	if serial == "" {
		serial = filepath.Join(work, "serial.log")
	}
	cfg := vm.Config{
		Accel: accel, SSHPort: port, SerialLog: serial,
		Disks: []vm.Disk{
			{Path: disk, Format: "qcow2"}, {Path: seed, Format: "raw", ReadOnly: true},
			{Path: stageDisk, Format: "raw", ReadOnly: true, Serial: apply.StageDiskSerial},
		},
	}
	// Boot with UEFI when OVMF is here (kubebake base images need it; cloud
	// images boot either way), else with the BIOS.
	if code, vars, err := vm.Firmware(v.OVMFCode, v.OVMFVars, work); err == nil {
		cfg.OVMFCode, cfg.OVMFVars = code, vars
	} else {
		fmt.Fprintf(o.Progress, "kubebake: %v; booting with the BIOS\n", err)
	}
	args, err := vm.Args(cfg)
	if err != nil {
		return nil, nil, err
	}
	m, err := vm.Start(v.QEMU, args, serial)
	if err != nil {
		return nil, nil, err
	}
	defer m.Stop(10 * time.Second)
	// A machine that dies ends the bake at once: nothing waits for SSH or a
	// step of a machine that is gone.
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-m.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	exited := func(err error) error {
		if m.Exited() {
			return fmt.Errorf("the machine stopped during the bake (QEMU %s)\n--- last lines of the console ---\n%s", m.ExitReason(), sys.Tail(m.Serial(), 20))
		}
		return err
	}
	start := time.Now()
	target, err := apply.DialSSH(ctx, "127.0.0.1:"+strconv.Itoa(port), vm.BuildUser, signer, v.BootTimeout)
	if err != nil {
		return nil, nil, exited(fmt.Errorf("%w\n--- last lines of the console ---\n%s", err, sys.Tail(m.Serial(), 20)))
	}
	fmt.Fprintf(o.Progress, "kubebake: SSH up after %s\n", time.Since(start).Round(time.Second))
	// cloud-init may still be installing the build user's environment or
	// holding the package lock: let it finish first.
	if code, err := target.Run(ctx, "cloud-init status --wait >/dev/null 2>&1 || true", io.Discard); err != nil || code != 0 {
		target.Close()
		return nil, nil, fmt.Errorf("waiting for cloud-init: exit code %d: %v", code, err)
	}
	results, err := apply.Apply(ctx, target, p, apply.Options{Inputs: o.Inputs, Progress: o.Progress, StageDisk: true})
	if err != nil {
		target.Close()
		return results, nil, exited(err)
	}
	// The record is data: read standard output alone (sudo warns on
	// standard error when the host name does not resolve).
	var images []manifest.RuntimeImage
	record, err := target.Output(ctx, "if [ -f "+api.RuntimeImagesPath+" ]; then cat "+api.RuntimeImagesPath+"; fi")
	if err != nil {
		target.Close()
		return results, nil, fmt.Errorf("reading %s: %w", api.RuntimeImagesPath, err)
	}
	if len(record) > 0 {
		if images, err = manifest.ParseCrictlImages(record); err != nil {
			target.Close()
			return results, nil, fmt.Errorf("%s: %w", api.RuntimeImagesPath, err)
		}
	}
	inv, err := collectInventory(ctx, target, p)
	if err != nil {
		target.Close()
		return results, nil, exited(err)
	}
	if code, err := target.Run(ctx, vm.SealAndPowerOff(vm.BuildUser), io.Discard); err != nil || code != 0 {
		target.Close()
		return results, nil, fmt.Errorf("final cleanup: exit code %d: %v", code, err)
	}
	target.Close()
	// The machine ends on purpose now: wait under the caller's context,
	// not the one its exit cancels.
	if err := m.Wait(parent, 5*time.Minute); err != nil {
		return results, nil, fmt.Errorf("power off: %w", err)
	}
	fmt.Fprintf(o.Progress, "kubebake: machine powered off after %s\n", time.Since(start).Round(time.Second))
	return results, &inspected{images: images, inventory: inv}, nil
}

// vmOverlay creates a copy-on-write overlay of the base for the bake.
func vmOverlay(ctx context.Context, r sys.Runner, base, overlay string) error {
	abs, err := filepath.Abs(base)
	if err != nil {
		return err
	}
	format := "qcow2"
	if strings.HasSuffix(base, ".raw") || strings.HasSuffix(base, ".img") {
		format = "raw"
	}
	return run(ctx, r, "qemu-img", "create", "-q", "-f", "qcow2", "-F", format, "-b", abs, overlay)
}
