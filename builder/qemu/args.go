package qemu

import (
	"path/filepath"
	"strings"

	"github.com/kubebake/kubebake/internal/apply"
	"github.com/kubebake/kubebake/internal/vm"
)

// overlayArgs creates a copy-on-write qcow2 overlay of the source, grown to
// size when given.
func overlayArgs(source, sourceFormat, overlay, size string) []string {
	args := []string{"create", "-q", "-f", "qcow2", "-F", sourceFormat, "-b", source, overlay}
	if size != "" {
		args = append(args, size)
	}
	return args
}

// sourceFormat names the format qemu-img info reports, defaulting by
// extension when it says nothing.
func sourceFormat(info, path string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "file format:"); ok {
			return strings.TrimSpace(v)
		}
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".raw", ".img":
		return "raw"
	}
	return "qcow2"
}

// machineConfig describes the build machine: the overlay first, then the
// seed and the stage disk, read-only with its serial (SSH mode), or the
// Ignition through fw_cfg (Ignition mode).
func machineConfig(c *Config, accel, overlay, seed, stage, ignition, serial string, sshPort int) vm.Config {
	m := vm.Config{
		Accel: accel, CPU: c.CPUModel, MemoryMiB: c.Memory, SMP: c.CPUs,
		SerialLog: serial, SSHPort: sshPort,
		Disks: []vm.Disk{{Path: overlay, Format: "qcow2"}},
	}
	if seed != "" {
		m.Disks = append(m.Disks, vm.Disk{Path: seed, Format: "raw", ReadOnly: true})
	}
	if stage != "" {
		m.Disks = append(m.Disks, vm.Disk{Path: stage, Format: "raw", ReadOnly: true, Serial: apply.StageDiskSerial})
	}
	if ignition != "" {
		m.Extra = append(m.Extra, "-fw_cfg", "name=opt/com.coreos/config,file="+ignition)
	}
	m.Extra = append(m.Extra, c.QemuArgs...)
	return m
}
