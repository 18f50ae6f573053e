//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config
//go:generate go tool packer-sdc struct-markdown

package qemu

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/common"
	"github.com/hashicorp/packer-plugin-sdk/communicator"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/kubebake/kubebake/internal/diskformat"
	"github.com/kubebake/kubebake/internal/vm"
)

// Config is the kubebake-qemu builder's configuration.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`
	Comm                communicator.Config `mapstructure:",squash"`

	// The cloud image to start from: a path, or a URL (http, https, file)
	// downloaded into Packer's cache. Ubuntu, Debian, CentOS Stream and Rocky
	// genericcloud qcow2 images, Fedora CoreOS qcow2 images and images made
	// by `kubebake base` work.
	SourceImage string `mapstructure:"source_image" required:"true"`
	// The source image's checksum, `sha256:HEX` (or another type go-getter
	// knows, or `file:URL` of a SUMS file). Required for URLs unless `none`;
	// checked for local paths when set.
	SourceImageChecksum string `mapstructure:"source_image_checksum"`
	// Where the image and manifest.json go. Default `output-BUILDNAME`; it
	// must not exist unless `-force` is given.
	OutputDirectory string `mapstructure:"output_directory"`
	// The image's file name without extension. Default the build name.
	VMName string `mapstructure:"vm_name"`
	// `qcow2` (default), `raw`, `vmdk` (streamOptimized, for vSphere),
	// `vhd` (fixed, for Azure), `vhdx` (Hyper-V) or `ova` (an OVF 1.0
	// package of the streamOptimized disk for vSphere and VirtualBox: 2
	// vCPUs, 4096 MiB, PVSCSI, VMXNET3, vmx-13, EFI when the disk has an
	// ESP, the guest OS the provisioner reported; see the README).
	Format string `mapstructure:"format"`
	// Compress the qcow2 output (default true; ignored for raw). false is
	// `compression_type = "none"`.
	Compress *bool `mapstructure:"compress"`
	// How the qcow2 output is compressed: `zlib` (default: every QEMU and
	// every qcow2 reader reads it), `zstd` (qemu-img's
	// `compression_type=zstd`: about 5 times faster to write and 2 times
	// faster to read here, a few percent smaller, but only QEMU 5.1 or
	// later built with zstd reads it; see Compression below) or `none`
	// (the same as `compress = false`). zstd is for qcow2 only: vmdk and
	// ova (streamOptimized) compress with deflate by themselves, raw, vhd
	// and vhdx are not compressed.
	CompressionType string `mapstructure:"compression_type"`
	// Grow the disk to this size (`20G`, `40960M`) before the boot; cloud
	// images grow their root filesystem to fit. Default: the source's size.
	DiskSize string `mapstructure:"disk_size"`
	// The size of the stage disk (default `32G`; sizes as for `disk_size`):
	// a sparse raw file in the build's work directory, attached read-only
	// with the serial `kubebake-stage`, into which the kubebake provisioner
	// writes its plan's files, step scripts and inputs as a tar archive that
	// the guest unpacks, instead of uploading them over SSH (about 1 MB/s
	// under TCG). It takes space on this machine only for what is written,
	// and is removed with the work directory. A stage larger than the disk
	// is uploaded over SSH. `none` (or `0`) attaches no stage disk.
	StageDiskSize string `mapstructure:"stage_disk_size"`
	// `auto` (default: KVM when /dev/kvm really runs a guest, else TCG),
	// `kvm` or `tcg`.
	Accelerator string `mapstructure:"accelerator"`
	// The guest CPU model. Default `host` under KVM and `qemu64,-cx16,-svm`
	// under TCG (with `max` recent kernels crash there; with plain `qemu64`
	// they warn).
	CPUModel string `mapstructure:"cpu_model"`
	// Virtual CPUs (default 2: kubeadm's preflight wants 2).
	CPUs int `mapstructure:"cpus"`
	// Memory in MiB (default 2048).
	Memory int `mapstructure:"memory"`
	// `auto` (default: UEFI when OVMF is installed, else BIOS; cloud images
	// boot either way, `kubebake base` images need UEFI), `bios` or `uefi`.
	Firmware string `mapstructure:"firmware"`
	// The OVMF code file for UEFI (default: Debian's ovmf package).
	OVMFCode string `mapstructure:"ovmf_code"`
	// The OVMF variables template; the builder boots with a copy of it
	// (default: Debian's ovmf package).
	OVMFVars string `mapstructure:"ovmf_vars"`
	// packer-plugin-qemu's name for `compress`; give one or the other.
	DiskCompression *bool `mapstructure:"disk_compression"`
	// packer-plugin-qemu's name for `ovmf_code`; give one or the other.
	EFIFirmwareCode string `mapstructure:"efi_firmware_code"`
	// packer-plugin-qemu's name for `ovmf_vars`; give one or the other.
	EFIFirmwareVars string `mapstructure:"efi_firmware_vars"`
	// packer-plugin-qemu's switch for UEFI: true means `firmware = "uefi"`,
	// false `firmware = "bios"`; give it or `firmware`.
	EFIBoot *bool `mapstructure:"efi_boot"`
	// The QEMU binary (default qemu-system-x86_64).
	QemuBinary string `mapstructure:"qemu_binary"`
	// The qemu-img binary (default qemu-img).
	QemuImgBinary string `mapstructure:"qemu_img_binary"`
	// Extra QEMU arguments, appended last.
	QemuArgs []string `mapstructure:"qemuargs"`
	// How long the guest may take to power off after the seal (default 5m).
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// Leave the build user, cloud-init state, SSH host keys, machine-id and
	// logs in the image (for debugging).
	SkipSeal bool `mapstructure:"skip_seal"`
	// Keep the machine's serial console in this file.
	SerialLog string `mapstructure:"serial_log"`
	// Fedora CoreOS: the recipe (built-in name or file) whose Ignition the
	// builder passes through QEMU's fw_cfg instead of provisioning over SSH;
	// the guest bakes itself and powers off. With it, no communicator is used
	// and provisioners are not run.
	IgnitionRecipe string `mapstructure:"ignition_recipe"`
	// For ignition_recipe: the kubebake-firstboot binary to place in the
	// image (default: the one the plugin carries for amd64).
	FirstbootBinary string `mapstructure:"firstboot_binary"`
	// For ignition_recipe: how long the provisioning boot may take (default
	// 60m).
	ProvisioningTimeout time.Duration `mapstructure:"provisioning_timeout"`

	ctx interpolate.Context
	// stageDiskBytes is StageDiskSize in bytes; 0 for none.
	stageDiskBytes int64
}

var sizeRE = regexp.MustCompile(`^[1-9][0-9]*[KMGT]$`)

// sizeBytes turns a size sizeRE accepts into bytes: qemu-img's suffixes,
// K, M, G and T, are powers of 1024.
func sizeBytes(s string) (int64, bool) {
	if !sizeRE.MatchString(s) {
		return 0, false
	}
	shift := map[byte]uint{'K': 10, 'M': 20, 'G': 30, 'T': 40}[s[len(s)-1]]
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n > math.MaxInt64>>shift {
		return 0, false
	}
	return n << shift, true
}

// Prepare decodes the raw configuration, applies defaults and reports every
// problem at once.
func (c *Config) Prepare(raws ...interface{}) ([]string, error) {
	if err := config.Decode(c, &config.DecodeOpts{
		PluginType:         BuilderID,
		Interpolate:        true,
		InterpolateContext: &c.ctx,
		InterpolateFilter:  &interpolate.RenderFilter{Exclude: []string{"boot_command"}},
	}, raws...); err != nil {
		return nil, err
	}
	var errs *packersdk.MultiError
	add := func(format string, a ...any) { errs = packersdk.MultiErrorAppend(errs, fmt.Errorf(format, a...)) }
	c.qemuPluginNames(add)
	c.defaults(add)

	if c.SourceImage == "" {
		add("source_image: required (a path or URL of a cloud image)")
	} else if isURL(c.SourceImage) {
		if c.SourceImageChecksum == "" {
			add("source_image_checksum: required for a URL (sha256:HEX, file:URL of a SUMS file, or none)")
		}
	} else if fi, err := os.Stat(c.SourceImage); err != nil || !fi.Mode().IsRegular() {
		add("source_image: %q is not a readable file", c.SourceImage)
	}
	if c.SourceImageChecksum != "" && c.SourceImageChecksum != "none" && !strings.Contains(c.SourceImageChecksum, ":") {
		add("source_image_checksum: %q must be TYPE:VALUE, such as sha256:...", c.SourceImageChecksum)
	}
	if !c.PackerForce {
		if _, err := os.Stat(c.OutputDirectory); err == nil {
			add("output_directory: %q exists (use -force to replace its image)", c.OutputDirectory)
		}
	}
	if strings.ContainsAny(c.VMName, "/\x00") || c.VMName == "." || c.VMName == ".." {
		add("vm_name: %q is not a file name", c.VMName)
	}
	if f, ok := diskformat.Lookup(c.Format); !ok {
		add("format: %q must be one of %s", c.Format, strings.Join(diskformat.Names(), ", "))
	} else if err := f.CheckCompression(c.compression()); err != nil {
		add("compression_type: %q with format %q: %w", c.CompressionType, c.Format, err)
	}
	if c.DiskSize != "" && !sizeRE.MatchString(c.DiskSize) {
		add("disk_size: %q must be a size such as 20G or 40960M", c.DiskSize)
	}
	switch c.StageDiskSize {
	case "none", "0":
		c.stageDiskBytes = 0
	default:
		n, ok := sizeBytes(c.StageDiskSize)
		if !ok {
			add("stage_disk_size: %q must be a size such as 32G or 4096M, or none", c.StageDiskSize)
		}
		c.stageDiskBytes = n
	}
	switch c.Accelerator {
	case vm.AccelAuto, vm.AccelKVM, vm.AccelTCG:
	default:
		add("accelerator: %q must be auto, kvm or tcg", c.Accelerator)
	}
	if c.CPUs < 1 {
		add("cpus: %d must be at least 1", c.CPUs)
	}
	if c.Memory < 512 {
		add("memory: %d MiB is too little (at least 512)", c.Memory)
	}
	switch c.Firmware {
	case "auto", "bios", "uefi":
	default:
		add("firmware: %q must be auto, bios or uefi", c.Firmware)
	}
	if c.FirstbootBinary != "" && c.IgnitionRecipe == "" {
		add("firstboot_binary: only used with ignition_recipe (the provisioner has its own)")
	}
	if c.IgnitionRecipe == "" {
		if es := c.Comm.Prepare(&c.ctx); len(es) > 0 {
			errs = packersdk.MultiErrorAppend(errs, es...)
		}
		if c.Comm.Type != "ssh" {
			add("communicator: %q is not supported; the builder provisions over ssh", c.Comm.Type)
		}
	}
	if errs != nil && len(errs.Errors) > 0 {
		return nil, errs
	}
	return nil, nil
}

// qemuPluginNames maps the field names a packer-plugin-qemu user types
// (disk_compression, efi_firmware_code, efi_firmware_vars, efi_boot) to
// this builder's; giving both names of one setting is an error.
func (c *Config) qemuPluginNames(add func(string, ...any)) {
	alias := func(ours, theirs string, dst *string, v string) {
		switch {
		case v == "":
		case *dst != "" && *dst != v:
			add("%s and %s name the same setting: give one", theirs, ours)
		default:
			*dst = v
		}
	}
	alias("ovmf_code", "efi_firmware_code", &c.OVMFCode, c.EFIFirmwareCode)
	alias("ovmf_vars", "efi_firmware_vars", &c.OVMFVars, c.EFIFirmwareVars)
	if c.DiskCompression != nil {
		if c.Compress != nil && *c.Compress != *c.DiskCompression {
			add("disk_compression and compress name the same setting: give one")
		}
		c.Compress = c.DiskCompression
	}
	if c.EFIBoot != nil {
		want := "bios"
		if *c.EFIBoot {
			want = "uefi"
		}
		alias("firmware", "efi_boot", &c.Firmware, want)
	}
}

// defaults fills what was left empty; add reports what cannot be.
func (c *Config) defaults(add func(string, ...any)) {
	if c.VMName == "" {
		c.VMName = c.PackerBuildName
		if c.VMName == "" {
			c.VMName = "kubebake"
		}
	}
	if c.OutputDirectory == "" {
		c.OutputDirectory = "output-" + c.VMName
	}
	if c.Format == "" {
		c.Format = "qcow2"
	}
	if c.StageDiskSize == "" {
		c.StageDiskSize = "32G"
	}
	c.compressionDefaults(add)
	if c.Accelerator == "" {
		c.Accelerator = vm.AccelAuto
	}
	if c.CPUs == 0 {
		c.CPUs = 2
	}
	if c.Memory == 0 {
		c.Memory = 2048
	}
	if c.Firmware == "" {
		c.Firmware = "auto"
	}
	if c.QemuBinary == "" {
		c.QemuBinary = "qemu-system-x86_64"
	}
	if c.QemuImgBinary == "" {
		c.QemuImgBinary = "qemu-img"
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 5 * time.Minute
	}
	if c.ProvisioningTimeout == 0 {
		c.ProvisioningTimeout = 60 * time.Minute
	}
	if c.Comm.Type == "" {
		c.Comm.Type = "ssh"
	}
	if c.Comm.SSHUsername == "" {
		c.Comm.SSHUsername = vm.BuildUser
	}
	if c.Comm.SSHHost == "" {
		c.Comm.SSHHost = "127.0.0.1"
	}
	if c.Comm.SSHTimeout == 0 {
		c.Comm.SSHTimeout = 20 * time.Minute
	}
	if c.Comm.SSHTemporaryKeyPairType == "" {
		c.Comm.SSHTemporaryKeyPairType = "ed25519"
	}
}

func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "file")
}

// errNoImage is returned when the output directory holds no image.
var errNoImage = errors.New("no image was written")
