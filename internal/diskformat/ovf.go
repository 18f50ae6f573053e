package diskformat

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// The OVF descriptor is written in the OVF 1.0 envelope namespace with the
// VMware extension namespace, as vSphere and ovftool export it: vSphere
// imports OVF 1.0 and 1.1, VirtualBox 1.0 and 2.0. Elements inside an Item
// or System follow the CIM schemas' order (alphabetical).
const (
	nsOVF  = "http://schemas.dmtf.org/ovf/envelope/1"
	nsCIM  = "http://schemas.dmtf.org/wbem/wscim/1/common"
	nsRASD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
	nsVSSD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
	nsVMW  = "http://www.vmware.com/schema/ovf"
	nsXSI  = "http://www.w3.org/2001/XMLSchema-instance"

	// StreamOptimizedURI is the OVF disk format of a streamOptimized VMDK.
	StreamOptimizedURI = "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"
)

// The virtual machine every OVA declares. Fixed defaults, not settings:
// whoever imports the appliance sizes the machine there.
const (
	// ovaCPUs is kubeadm's minimum for a control plane.
	ovaCPUs = 2
	// ovaMemoryMiB leaves room for a control plane and a few pods.
	ovaMemoryMiB = 4096
	// ovaHardware is VMware's virtual hardware version 13 (ESXi 6.5 and
	// later; EFI firmware, PVSCSI and VMXNET3 all exist there).
	ovaHardware = "vmx-13"
	// ovaNetwork is the one logical network; vSphere maps it to its
	// default port group of that name, VirtualBox to a bridged adapter.
	ovaNetwork = "VM Network"
)

// Descriptor is what an OVF descriptor says about one packaged machine.
type Descriptor struct {
	// Name names the virtual system.
	Name string
	// Distro and Release are the recipe's base (debian 13, ubuntu 24.04,
	// rocky 9, ...); they choose the guest OS type. An unknown distro is
	// declared as 64-bit Linux.
	Distro, Release string
	// Arch is the image's architecture: amd64, or empty for amd64. The
	// descriptor describes an x86-64 machine, so nothing else is accepted.
	Arch string
	// DiskFile is the disk's file name inside the package, DiskSize its
	// size in bytes (References) and Capacity its virtual size in bytes
	// (DiskSection).
	DiskFile           string
	DiskSize, Capacity int64
	// EFI asks for UEFI firmware (vmw:Config firmware=efi); else BIOS,
	// VMware's default.
	EFI bool
}

// guest is a guest OS type: the CIM OperatingSystem id that OVF readers
// map (VirtualBox: 94 Ubuntu_64, 96 Debian_64, 80 RedHat_64, 101
// Linux_64) and VMware's guest id, the newest each family has on vmx-13.
type guest struct {
	cimID  int
	vmware string
	label  string
}

// guestOf maps a recipe's distro to its guest OS type.
func guestOf(distro string) guest {
	switch distro {
	case "debian":
		return guest{96, "debian10_64Guest", "Debian"}
	case "ubuntu":
		return guest{94, "ubuntu64Guest", "Ubuntu"}
	case "rocky", "centos-stream":
		return guest{80, "rhel7_64Guest", "Red Hat Enterprise Linux compatible"}
	case "fedora-coreos":
		return guest{101, "fedora64Guest", "Fedora CoreOS"}
	default:
		return guest{101, "other3xLinux64Guest", "Linux"}
	}
}

// OVF renders the OVF descriptor of an appliance with one disk, d, on a
// machine with 2 virtual CPUs, 4096 MiB of memory, the disk on a VMware
// paravirtual SCSI controller (PVSCSI) and one VMXNET3 adapter on the
// network "VM Network", virtual hardware vmx-13, and UEFI firmware when
// d.EFI. PVSCSI and VMXNET3 are the devices every kernel kubebake images
// carry drivers for (Debian's cloud kernels have neither ahci in Debian 12
// nor e1000 nor the LSI Logic driver); VirtualBox, which has neither
// device, imports them as its LSI Logic SCSI controller and its default
// adapter for the OS type.
func OVF(d Descriptor) ([]byte, error) {
	switch {
	case d.Name == "":
		return nil, fmt.Errorf("OVF descriptor: the machine has no name")
	case checkArch(d.Arch) != nil:
		return nil, fmt.Errorf("OVF descriptor: %w", checkArch(d.Arch))
	case d.DiskFile == "" || strings.ContainsAny(d.DiskFile, "/\\") || d.DiskFile == "." || d.DiskFile == "..":
		return nil, fmt.Errorf("OVF descriptor: disk file %q is not a plain file name", d.DiskFile)
	case d.DiskSize <= 0:
		return nil, fmt.Errorf("OVF descriptor: disk file size %d is not positive", d.DiskSize)
	case d.Capacity <= 0:
		return nil, fmt.Errorf("OVF descriptor: disk capacity %d is not positive", d.Capacity)
	}
	g := guestOf(d.Distro)
	desc := g.label
	if d.Release != "" {
		desc += " " + d.Release
	}
	env := envelope{
		XMLNS: nsOVF, CIM: nsCIM, OVF: nsOVF, RASD: nsRASD, VMW: nsVMW, VSSD: nsVSSD, XSI: nsXSI,
		References: []file{{Href: d.DiskFile, ID: "file1", Size: d.DiskSize}},
		DiskSection: diskSection{
			Info: "Virtual disk information",
			Disks: []disk{{
				Capacity: d.Capacity, CapacityAllocationUnits: "byte", DiskID: "vmdisk1", FileRef: "file1",
				Format: StreamOptimizedURI,
			}},
		},
		NetworkSection: networkSection{
			Info:     "The list of logical networks",
			Networks: []network{{Name: ovaNetwork, Description: "The " + ovaNetwork + " network"}},
		},
		VirtualSystem: virtualSystem{
			ID: d.Name, Info: "A virtual machine", Name: d.Name,
			OperatingSystem: operatingSystemSection{
				ID: g.cimID, OSType: g.vmware, Info: "The kind of installed guest operating system",
				Description: desc + " (64-bit)",
			},
			VirtualHardware: virtualHardwareSection{
				Info: "Virtual hardware requirements",
				System: system{
					ElementName: "Virtual Hardware Family", InstanceID: 0,
					VirtualSystemIdentifier: d.Name, VirtualSystemType: ovaHardware,
				},
				Items: hardware(),
			},
		},
	}
	if d.EFI {
		env.VirtualSystem.VirtualHardware.Config = []vmwConfig{{Required: false, Key: "firmware", Value: "efi"}}
	}
	b, err := xml.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("OVF descriptor: %w", err)
	}
	return append(append([]byte(xml.Header), b...), '\n'), nil
}

// checkArch refuses an image that is not amd64: the descriptor describes
// an x86-64 machine.
func checkArch(arch string) error {
	if arch != "" && arch != "amd64" {
		return fmt.Errorf("arch %s: an OVA describes an x86-64 (amd64) virtual machine", arch)
	}
	return nil
}

// hardware lists the machine's CPUs, memory, SCSI controller, disk and
// network adapter.
func hardware() []item {
	yes := true
	return []item{
		{
			AllocationUnits: "hertz * 10^6", Description: "Number of Virtual CPUs",
			ElementName: strconv.Itoa(ovaCPUs) + " virtual CPU(s)", InstanceID: 1, ResourceType: 3, VirtualQuantity: ovaCPUs,
		},
		{
			AllocationUnits: "byte * 2^20", Description: "Memory Size",
			ElementName: strconv.Itoa(ovaMemoryMiB) + "MB of memory", InstanceID: 2, ResourceType: 4, VirtualQuantity: ovaMemoryMiB,
		},
		{
			Address: "0", Description: "SCSI Controller", ElementName: "SCSI Controller 0", InstanceID: 3,
			ResourceSubType: "VirtualSCSI", ResourceType: 6,
		},
		{
			AddressOnParent: "0", ElementName: "Hard Disk 1", HostResource: "ovf:/disk/vmdisk1", InstanceID: 4,
			Parent: 3, ResourceType: 17,
		},
		{
			AutomaticAllocation: &yes, Connection: ovaNetwork,
			Description: "VmxNet3 ethernet adapter on \"" + ovaNetwork + "\"", ElementName: "Network adapter 1", InstanceID: 5,
			ResourceSubType: "VmxNet3", ResourceType: 10,
		},
	}
}

// The descriptor's XML. encoding/xml writes a prefixed name given in a
// tag ("ovf:id") as it stands, so the prefixes are the ones declared on
// the Envelope.
type envelope struct {
	XMLName        xml.Name       `xml:"Envelope"`
	XMLNS          string         `xml:"xmlns,attr"`
	CIM            string         `xml:"xmlns:cim,attr"`
	OVF            string         `xml:"xmlns:ovf,attr"`
	RASD           string         `xml:"xmlns:rasd,attr"`
	VMW            string         `xml:"xmlns:vmw,attr"`
	VSSD           string         `xml:"xmlns:vssd,attr"`
	XSI            string         `xml:"xmlns:xsi,attr"`
	References     []file         `xml:"References>File"`
	DiskSection    diskSection    `xml:"DiskSection"`
	NetworkSection networkSection `xml:"NetworkSection"`
	VirtualSystem  virtualSystem  `xml:"VirtualSystem"`
}

type file struct {
	Href string `xml:"ovf:href,attr"`
	ID   string `xml:"ovf:id,attr"`
	Size int64  `xml:"ovf:size,attr"`
}

type diskSection struct {
	Info  string `xml:"Info"`
	Disks []disk `xml:"Disk"`
}

type disk struct {
	Capacity                int64  `xml:"ovf:capacity,attr"`
	CapacityAllocationUnits string `xml:"ovf:capacityAllocationUnits,attr"`
	DiskID                  string `xml:"ovf:diskId,attr"`
	FileRef                 string `xml:"ovf:fileRef,attr"`
	Format                  string `xml:"ovf:format,attr"`
}

type networkSection struct {
	Info     string    `xml:"Info"`
	Networks []network `xml:"Network"`
}

type network struct {
	Name        string `xml:"ovf:name,attr"`
	Description string `xml:"Description"`
}

type virtualSystem struct {
	ID              string                 `xml:"ovf:id,attr"`
	Info            string                 `xml:"Info"`
	Name            string                 `xml:"Name"`
	OperatingSystem operatingSystemSection `xml:"OperatingSystemSection"`
	VirtualHardware virtualHardwareSection `xml:"VirtualHardwareSection"`
}

type operatingSystemSection struct {
	ID          int    `xml:"ovf:id,attr"`
	OSType      string `xml:"vmw:osType,attr"`
	Info        string `xml:"Info"`
	Description string `xml:"Description"`
}

type virtualHardwareSection struct {
	Info   string      `xml:"Info"`
	System system      `xml:"System"`
	Items  []item      `xml:"Item"`
	Config []vmwConfig `xml:"vmw:Config"`
}

type system struct {
	ElementName             string `xml:"vssd:ElementName"`
	InstanceID              int    `xml:"vssd:InstanceID"`
	VirtualSystemIdentifier string `xml:"vssd:VirtualSystemIdentifier"`
	VirtualSystemType       string `xml:"vssd:VirtualSystemType"`
}

// item is a CIM_ResourceAllocationSettingData; its fields keep the
// schema's (alphabetical) order.
type item struct {
	Address             string `xml:"rasd:Address,omitempty"`
	AddressOnParent     string `xml:"rasd:AddressOnParent,omitempty"`
	AllocationUnits     string `xml:"rasd:AllocationUnits,omitempty"`
	AutomaticAllocation *bool  `xml:"rasd:AutomaticAllocation,omitempty"`
	Connection          string `xml:"rasd:Connection,omitempty"`
	Description         string `xml:"rasd:Description,omitempty"`
	ElementName         string `xml:"rasd:ElementName"`
	HostResource        string `xml:"rasd:HostResource,omitempty"`
	InstanceID          int    `xml:"rasd:InstanceID"`
	Parent              int    `xml:"rasd:Parent,omitempty"`
	ResourceSubType     string `xml:"rasd:ResourceSubType,omitempty"`
	ResourceType        int    `xml:"rasd:ResourceType"`
	VirtualQuantity     int    `xml:"rasd:VirtualQuantity,omitempty"`
}

type vmwConfig struct {
	Required bool   `xml:"ovf:required,attr"`
	Key      string `xml:"vmw:key,attr"`
	Value    string `xml:"vmw:value,attr"`
}
