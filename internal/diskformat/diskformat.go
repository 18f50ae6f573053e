// Package diskformat is the table of image formats kubebake writes: how
// qemu-img writes each, the file extension it gets, and for a packaged
// format (ova) the package the disk goes into. kubebake build and the
// kubebake-qemu Packer builder both write through Format.Write.
package diskformat

import (
	"context"
	"fmt"
	"sort"

	"github.com/kubebake/kubebake/internal/sys"
)

// Format is one image format.
type Format struct {
	// Name is what users type: qcow2, raw, vmdk, vhd, vhdx, ova.
	Name string
	// Ext is the file extension.
	Ext string
	// Driver is qemu-img's name for it (for a packaged format, the disk's).
	Driver string
	// Options are qemu-img convert's -o options for it.
	Options string
	// Compressible means the user's Compression applies: qemu-img's -c
	// and -o compression_type (qcow2).
	Compressible bool
	// OwnCompression is the compression a format that is not Compressible
	// has whatever is asked: deflate for vmdk's streamOptimized subformat.
	// Empty: none.
	OwnCompression Compression
	// Package, when set, is the package the disk qemu-img wrote is put
	// into after the conversion: PackageOVA. Empty: the image is the disk.
	Package string
	// For says who reads it.
	For string
}

// formats is the table.
func formats() []Format {
	return []Format{
		{Name: "qcow2", Ext: "qcow2", Driver: "qcow2", Compressible: true, For: "QEMU, OpenStack, libvirt"},
		{Name: "raw", Ext: "raw", Driver: "raw", For: "any hypervisor, dd to a disk"},
		{Name: "vmdk", Ext: "vmdk", Driver: "vmdk", Options: "subformat=streamOptimized", OwnCompression: CompressionDeflate, For: "vSphere, OVA"},
		{Name: "vhd", Ext: "vhd", Driver: "vpc", Options: "subformat=fixed,force_size=on", For: "Azure (fixed size, MiB-aligned)"},
		{Name: "vhdx", Ext: "vhdx", Driver: "vhdx", Options: "subformat=dynamic", For: "Hyper-V"},
		{
			Name: "ova", Ext: "ova", Driver: "vmdk", Options: "subformat=streamOptimized,adapter_type=lsilogic", OwnCompression: CompressionDeflate, Package: PackageOVA,
			For: "vSphere, VirtualBox (OVF 1.0 appliance: descriptor, streamOptimized disk, SHA256 manifest)",
		},
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
// dst in f's disk format, compressed with c (empty: the default) where f
// takes a choice (Compressible: qcow2's -c and compression_type). A
// compression f cannot be written with (CheckCompression: zstd for
// anything but qcow2) is an error.
func (f Format) ConvertArgs(srcDriver, src string, c Compression, dst string) ([]string, error) {
	if err := f.CheckCompression(c); err != nil {
		return nil, err
	}
	args := []string{"convert", "-q", "-f", srcDriver, "-O", f.Driver}
	compress, opts := f.compressionArgs(c)
	if compress {
		args = append(args, "-c")
	}
	if opts != "" {
		args = append(args, "-o", opts)
	}
	return append(args, src, dst), nil
}

// ProgressConvertArgs are ConvertArgs for a terminal: qemu-img shows its
// progress (-p) instead of being quiet (-q); nothing else changes.
func (f Format) ProgressConvertArgs(srcDriver, src string, c Compression, dst string) ([]string, error) {
	args, err := f.ConvertArgs(srcDriver, src, c, dst)
	if err != nil {
		return nil, err
	}
	args[1] = "-p"
	return args, nil
}

// QemuImg runs qemu-img with args and returns its standard output; a
// failure names the command and holds its output (a *sys.RunError).
type QemuImg func(ctx context.Context, args ...string) (string, error)

// QemuImgVia is the QemuImg that runs the program bin through r.
func QemuImgVia(r sys.Runner, bin string) QemuImg {
	return func(ctx context.Context, args ...string) (string, error) {
		c := sys.Command(bin, args...)
		c.StdoutOnly = true
		out, err := r.Run(ctx, c)
		return string(out), err
	}
}

// Machine is what a packaged format declares about the virtual machine
// around the disk; a plain disk format ignores it.
type Machine struct {
	// Name names the machine and, made safe for a file name, the files
	// inside the package.
	Name string
	// Distro, Release and Arch are the recipe's base (recipes.Distro
	// names: debian 13, ubuntu 24.04, rocky 9, ...; amd64). Empty distro:
	// a generic 64-bit Linux; empty arch: amd64.
	Distro, Release, Arch string
}

// Convert writes the image's disk to dst in the format's disk format:
// qemu-img convert with the format's ConvertArgs or ProgressConvertArgs,
// run the way the caller runs it.
type Convert func(ctx context.Context, dst string) error

// Write writes the image to dst: for a plain format convert writes it
// there; for a packaged one convert writes the disk into a directory beside
// dst (DST.d-RANDOM, removed on return, so that a killed writer's is one of
// dst's leftovers), which is then described (qemu-img reads it) and packed
// into a file there that is renamed over dst; m says what the package
// declares. Either way dst is a temporary name that the caller renames
// into place once it is complete.
func (f Format) Write(ctx context.Context, convert Convert, qemuImg QemuImg, dst string, m Machine) error {
	switch f.Package {
	case "":
		return convert(ctx, dst)
	case PackageOVA:
		return writeOVA(ctx, convert, qemuImg, dst, m)
	default:
		return fmt.Errorf("format %s: unknown package %q", f.Name, f.Package)
	}
}
