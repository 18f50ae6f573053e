package base

import (
	"fmt"
	"strconv"
	"strings"
)

// qemuEscape escapes a value inside a QEMU option list, where "," separates
// options and ",," is a literal comma.
func qemuEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// convertArgs are qemu-img's arguments to turn the raw disk into a compressed
// qcow2 image.
func convertArgs(raw, qcow2 string) []string {
	return []string{"convert", "-f", "raw", "-O", "qcow2", "-c", raw, qcow2}
}

// VM is a QEMU virtual machine that boots an image under OVMF, as the boot
// test runs it: TCG (KVM does not work everywhere these images are tested),
// the image as a virtio disk, a NoCloud seed as a second one, user-mode
// networking and the serial console to a file.
type VM struct {
	// Image is the disk (qcow2), usually an overlay over the built image.
	Image string
	// Seed is the NoCloud seed ISO; none when empty.
	Seed string
	// Firmware is the pair of OVMF files.
	Firmware OVMF
	// SerialLog is the file the serial console is written to.
	SerialLog string
	// MemoryMiB is the guest's memory; 2048 when 0.
	MemoryMiB int
	// CPUs is the number of vCPUs; 2 when 0.
	CPUs int
	// UUID is the machine's SMBIOS UUID; QEMU's default when empty.
	UUID string
}

// OVMF is a UEFI firmware image and the variable store template that goes
// with it (the same size).
type OVMF struct {
	// Code is the read-only firmware, e.g. /usr/share/OVMF/OVMF_CODE_4M.fd.
	Code string
	// Vars is a writable copy of the matching OVMF_VARS file.
	Vars string
}

// ovmfPairs are Debian's ovmf package's firmware and variable templates, the
// preferred first. The .secboot, .ms and snakeoil builds want Secure Boot keys.
var ovmfPairs = []OVMF{
	{Code: "/usr/share/OVMF/OVMF_CODE_4M.fd", Vars: "/usr/share/OVMF/OVMF_VARS_4M.fd"},
	{Code: "/usr/share/OVMF/OVMF_CODE.fd", Vars: "/usr/share/OVMF/OVMF_VARS.fd"},
}

// FindOVMF returns the first pair of ovmfPairs whose files both exist; Vars
// is the template, to be copied before use. exists is os.Stat's success.
func FindOVMF(exists func(path string) bool) (OVMF, error) {
	for _, p := range ovmfPairs {
		if exists(p.Code) && exists(p.Vars) {
			return p, nil
		}
	}
	return OVMF{}, fmt.Errorf("no OVMF firmware (looked for %s and %s; apt-get install ovmf)", ovmfPairs[0].Code, ovmfPairs[1].Code)
}

// QEMUArgs returns qemu-system-x86_64's arguments for v. The guest CPU is
// qemu64 without cx16 and svm: "max" crashes trixie's kernel under TCG. The
// VM exits instead of rebooting, so a poweroff or a panic ends QEMU.
func QEMUArgs(v VM) []string {
	mem, cpus := v.MemoryMiB, v.CPUs
	if mem == 0 {
		mem = 2048
	}
	if cpus == 0 {
		cpus = 2
	}
	args := []string{
		"-machine", "q35", "-accel", "tcg", "-cpu", "qemu64,-cx16,-svm",
		"-smp", strconv.Itoa(cpus), "-m", strconv.Itoa(mem),
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + qemuEscape(v.Firmware.Code),
		"-drive", "if=pflash,format=raw,unit=1,file=" + qemuEscape(v.Firmware.Vars),
		"-drive", "if=virtio,format=qcow2,file=" + qemuEscape(v.Image),
	}
	if v.Seed != "" {
		args = append(args, "-drive", "if=virtio,format=raw,readonly=on,file="+qemuEscape(v.Seed))
	}
	args = append(args,
		"-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0",
		"-display", "none", "-monitor", "none", "-serial", "file:"+v.SerialLog,
		"-no-reboot",
	)
	if v.UUID != "" {
		args = append(args, "-uuid", v.UUID)
	}
	return args
}
