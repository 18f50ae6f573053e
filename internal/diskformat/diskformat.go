// Package diskformat is the table of image formats kubebake writes: how
// qemu-img writes each and the file extension it gets. kubebake build and
// the kubebake-qemu Packer builder both write through it.
package diskformat

import "sort"

// Format is one image format.
type Format struct {
	// Name is what users type: qcow2, raw, vmdk, vhd, vhdx.
	Name string
	// Ext is the file extension.
	Ext string
	// Driver is qemu-img's name for it.
	Driver string
	// Options are qemu-img convert's -o options for it.
	Options string
	// Compressible means -c applies (qcow2; vmdk's streamOptimized
	// subformat compresses by itself).
	Compressible bool
	// For says who reads it.
	For string
}

// formats is the table.
func formats() []Format {
	return []Format{
		{Name: "qcow2", Ext: "qcow2", Driver: "qcow2", Compressible: true, For: "QEMU, OpenStack, libvirt"},
		{Name: "raw", Ext: "raw", Driver: "raw", For: "any hypervisor, dd to a disk"},
		{Name: "vmdk", Ext: "vmdk", Driver: "vmdk", Options: "subformat=streamOptimized", For: "vSphere, OVA"},
		{Name: "vhd", Ext: "vhd", Driver: "vpc", Options: "subformat=fixed,force_size=on", For: "Azure (fixed size, MiB-aligned)"},
		{Name: "vhdx", Ext: "vhdx", Driver: "vhdx", Options: "subformat=dynamic", For: "Hyper-V"},
	}
}

// Lookup finds a format by name.
func Lookup(name string) (Format, bool) {
	for _, f := range formats() {
		if f.Name == name {
			return f, true
		}
	}
	return Format{}, false
}

// Names lists the format names, sorted.
func Names() []string {
	var out []string
	for _, f := range formats() {
		out = append(out, f.Name)
	}
	sort.Strings(out)
	return out
}

// ConvertArgs are qemu-img's arguments that write src (in srcDriver) to
// dst in f, compressed when asked and f allows it.
func (f Format) ConvertArgs(srcDriver, src string, compress bool, dst string) []string {
	args := []string{"convert", "-q", "-f", srcDriver, "-O", f.Driver}
	opts := f.Options
	if compress && f.Compressible {
		args = append(args, "-c")
		if f.Name == "qcow2" {
			opts = "compression_type=zlib"
		}
	}
	if opts != "" {
		args = append(args, "-o", opts)
	}
	return append(args, src, dst)
}
