// Package vm runs images under QEMU: it chooses the accelerator (KVM when
// it really works, TCG otherwise), builds QEMU's arguments with pure
// functions, starts the process with a serial log, waits for markers on the
// serial console and always stops the machine. guest.go holds what a bake
// in a machine does as its guest: the ephemeral build user and the final
// seal and power-off.
package vm

import (
	"fmt"
	"strconv"
	"strings"
)

// Accelerators.
const (
	AccelAuto = "auto"
	AccelKVM  = "kvm"
	AccelTCG  = "tcg"
)

// DefaultTCGCPU is the guest CPU that works under TCG on these hosts:
// `max` crashes recent kernels, plain qemu64 makes them warn.
const DefaultTCGCPU = "qemu64,-cx16,-svm"

// DefaultCPU is the guest CPU model for accel: host under KVM,
// DefaultTCGCPU under TCG.
func DefaultCPU(accel string) string {
	if accel == AccelKVM {
		return "host"
	}
	return DefaultTCGCPU
}

// Disk is a drive attached as virtio.
type Disk struct {
	Path     string
	Format   string // qcow2 or raw
	ReadOnly bool
	// Serial, when set, is the disk's serial number: the guest finds it as
	// /dev/disk/by-id/virtio-SERIAL (and in /sys/block/vdX/serial).
	Serial string
}

// Config describes one machine.
type Config struct {
	// Accel is kvm or tcg (resolve auto with ResolveAccel first).
	Accel string
	// CPU model; defaults to host under KVM and DefaultTCGCPU under TCG.
	CPU string
	// MemoryMiB defaults to 2048; SMP to 2 (kubeadm's preflight wants 2).
	MemoryMiB int
	SMP       int
	// Firmware: OVMF code and a writable copy of its variables for UEFI
	// images; empty for BIOS.
	OVMFCode, OVMFVars string
	// Disks in order; the first is the boot disk.
	Disks []Disk
	// Snapshot discards every write to the disks.
	Snapshot bool
	// Reboot lets a reset (the guest's reboot, QMP's system_reset) restart
	// the machine; by default QEMU exits instead (-no-reboot), so a
	// machine that powers off or reboots ends its run.
	Reboot bool
	// SerialLog receives the serial console (ttyS0).
	SerialLog string
	// Serial2Log, when set, receives a second serial port (ttyS1) that the
	// kernel's console does not write to.
	Serial2Log string
	// UUID and MAC give each machine its own identity.
	UUID, MAC string
	// Net is "user" (NAT, default), "none", or a full -netdev value.
	Net string
	// SSHPort, when set with user networking, forwards it to the guest's
	// port 22.
	SSHPort int
	// QMPSocket, when set, is a unix socket for QEMU's monitor protocol.
	QMPSocket string
	// Extra arguments appended last.
	Extra []string
}

// Args returns the qemu-system-x86_64 arguments for c.
func Args(c Config) ([]string, error) {
	if c.Accel != AccelKVM && c.Accel != AccelTCG {
		return nil, fmt.Errorf("accelerator %q: want kvm or tcg", c.Accel)
	}
	if len(c.Disks) == 0 {
		return nil, fmt.Errorf("no disk to boot")
	}
	cpu := c.CPU
	if cpu == "" {
		cpu = DefaultCPU(c.Accel)
	}
	mem, smp := c.MemoryMiB, c.SMP
	if mem == 0 {
		mem = 2048
	}
	if smp == 0 {
		smp = 2
	}
	args := []string{
		"-machine", "q35", "-accel", c.Accel, "-cpu", cpu,
		"-smp", strconv.Itoa(smp), "-m", strconv.Itoa(mem),
		"-nodefaults", "-display", "none",
	}
	if !c.Reboot {
		args = append(args, "-no-reboot")
	}
	if c.OVMFCode != "" {
		args = append(args,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+escape(c.OVMFCode),
			"-drive", "if=pflash,format=raw,unit=1,file="+escape(c.OVMFVars))
	}
	for i, d := range c.Disks {
		format := d.Format
		if format == "" {
			format = "qcow2"
		}
		drive := fmt.Sprintf("if=virtio,index=%d,format=%s,file=%s", i, format, escape(d.Path))
		if d.Serial != "" {
			// A serial is the device's property: -drive's own serial= is
			// gone from QEMU.
			drive = fmt.Sprintf("if=none,id=disk%d,format=%s,file=%s", i, format, escape(d.Path))
		}
		if d.ReadOnly {
			drive += ",readonly=on"
		} else {
			drive += ",discard=unmap" // the guest's fstrim frees image space
		}
		args = append(args, "-drive", drive)
		if d.Serial != "" {
			args = append(args, "-device", fmt.Sprintf("virtio-blk-pci,drive=disk%d,serial=%s", i, escape(d.Serial)))
		}
	}
	if c.Snapshot {
		args = append(args, "-snapshot")
	}
	switch {
	case c.Net == "none":
		args = append(args, "-nic", "none")
	case c.Net == "" || c.Net == "user":
		netdev := "user,id=net0"
		if c.SSHPort > 0 {
			netdev += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:22", c.SSHPort)
		}
		args = append(args, "-netdev", netdev, "-device", nic(c.MAC))
	default:
		args = append(args, "-netdev", c.Net, "-device", nic(c.MAC))
	}
	if c.SerialLog != "" {
		args = append(args, "-serial", "file:"+c.SerialLog)
	} else {
		args = append(args, "-serial", "none")
	}
	if c.Serial2Log != "" {
		args = append(args, "-serial", "file:"+c.Serial2Log)
	}
	if c.UUID != "" {
		args = append(args, "-uuid", c.UUID)
	}
	if c.QMPSocket != "" {
		args = append(args, "-qmp", "unix:"+c.QMPSocket+",server=on,wait=off")
	}
	return append(args, c.Extra...), nil
}

func nic(mac string) string {
	dev := "virtio-net-pci,netdev=net0"
	if mac != "" {
		dev += ",mac=" + mac
	}
	return dev
}

// escape doubles commas, which QEMU's option syntax reserves.
func escape(path string) string { return strings.ReplaceAll(path, ",", ",,") }
