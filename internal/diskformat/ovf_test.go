package diskformat_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/kubebake/kubebake/internal/diskformat"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// ovfCases are the descriptors the golden files are rendered from, with
// the guest OS each must declare (VMware's ids from govmomi's enum of them).
var ovfCases = []struct {
	name   string
	d      diskformat.Descriptor
	cimID  int16
	osType types.VirtualMachineGuestOsIdentifier
}{
	{
		name: "debian-uefi",
		d: diskformat.Descriptor{
			Name: "debian-13-containerd", Distro: "debian", Release: "13", Arch: "amd64",
			DiskFile: "debian-13-containerd-disk1.vmdk", DiskSize: 251658752, Capacity: 4294967296, EFI: true,
		},
		cimID: 96, osType: types.VirtualMachineGuestOsIdentifierDebian10_64Guest,
	},
	{
		name: "ubuntu-bios",
		d: diskformat.Descriptor{
			Name: "ubuntu-24.04-containerd", Distro: "ubuntu", Release: "24.04",
			DiskFile: "ubuntu-24.04-containerd-disk1.vmdk", DiskSize: 612345, Capacity: 3758096384,
		},
		cimID: 94, osType: types.VirtualMachineGuestOsIdentifierUbuntu64Guest,
	},
	{
		name: "rocky",
		d: diskformat.Descriptor{
			Name: "rocky-9-cri-o", Distro: "rocky", Release: "9", Arch: "amd64",
			DiskFile: "rocky-9-cri-o-disk1.vmdk", DiskSize: 1024, Capacity: 10737418240, EFI: true,
		},
		cimID: 80, osType: types.VirtualMachineGuestOsIdentifierRhel7_64Guest,
	},
	{
		name: "fedora-coreos",
		d: diskformat.Descriptor{
			Name: "fcos", Distro: "fedora-coreos", Release: "stable",
			DiskFile: "fcos-disk1.vmdk", DiskSize: 1, Capacity: 512, EFI: true,
		},
		cimID: 101, osType: types.VirtualMachineGuestOsIdentifierFedora64Guest,
	},
	{
		name: "unknown-distro-escaped-name",
		d: diskformat.Descriptor{
			Name: `node <a> & "b"`, DiskFile: "node--a----b--disk1.vmdk", DiskSize: 7, Capacity: 1 << 20,
		},
		cimID: 101, osType: types.VirtualMachineGuestOsIdentifierOther3xLinux64Guest,
	},
}

// TestOVFGolden compares each descriptor with its golden file
// (go test -run TestOVFGolden -update rewrites them).
func TestOVFGolden(t *testing.T) {
	for _, tc := range ovfCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := diskformat.OVF(tc.d)
			require.NoError(t, err)
			golden := filepath.Join("testdata", "golden", tc.name+".ovf")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -run TestOVFGolden -update")
			assert.Equal(t, string(want), string(got))
		})
	}
}

// TestOVFParses reads each golden descriptor back with govmomi's OVF
// parser (the one govc's import.ovf uses) and checks what it declares: the
// disk file and its size, the disk's capacity and format, the network, the
// guest OS, and the hardware with each device on its controller and
// network; then with namespaces honoured (encoding/xml) that the prefixes
// name the OVF, CIM and VMware namespaces and that the firmware is UEFI
// exactly when asked.
func TestOVFParses(t *testing.T) {
	for _, tc := range ovfCases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "golden", tc.name+".ovf"))
			require.NoError(t, err)
			env, err := ovf.Unmarshal(bytes.NewReader(b))
			require.NoError(t, err)
			assertDescribes(t, env, tc.d, tc.cimID, tc.osType)
			assert.Equal(t, tc.d.EFI, firmwareEFI(t, b))
		})
	}
}

// assertDescribes checks that the parsed envelope env declares the disk,
// network, guest OS and hardware of d.
func assertDescribes(t *testing.T, env *ovf.Envelope, d diskformat.Descriptor, cimID int16, osType types.VirtualMachineGuestOsIdentifier) {
	t.Helper()
	require.Len(t, env.References, 1)
	file := env.References[0]
	assert.Equal(t, d.DiskFile, file.Href)
	assert.Equal(t, uint(d.DiskSize), file.Size)

	require.NotNil(t, env.Disk)
	require.Len(t, env.Disk.Disks, 1)
	disk := env.Disk.Disks[0]
	assert.Equal(t, strconv.FormatInt(d.Capacity, 10), disk.Capacity)
	require.NotNil(t, disk.CapacityAllocationUnits)
	assert.Equal(t, "byte", *disk.CapacityAllocationUnits)
	require.NotNil(t, disk.FileRef)
	assert.Equal(t, file.ID, *disk.FileRef)
	require.NotNil(t, disk.Format)
	assert.Equal(t, diskformat.StreamOptimizedURI, *disk.Format)

	require.NotNil(t, env.Network)
	require.Len(t, env.Network.Networks, 1)
	network := env.Network.Networks[0].Name

	vs := env.VirtualSystem
	require.NotNil(t, vs)
	assert.Equal(t, d.Name, vs.ID)
	require.NotNil(t, vs.Name)
	assert.Equal(t, d.Name, *vs.Name)
	require.Len(t, vs.OperatingSystem, 1)
	assert.Equal(t, cimID, vs.OperatingSystem[0].ID)
	require.NotNil(t, vs.OperatingSystem[0].OSType)
	assert.Equal(t, string(osType), *vs.OperatingSystem[0].OSType)

	require.Len(t, vs.VirtualHardware, 1)
	hw := vs.VirtualHardware[0]
	require.NotNil(t, hw.System)
	require.NotNil(t, hw.System.VirtualSystemType)
	assert.Equal(t, "vmx-13", *hw.System.VirtualSystemType)
	byType := map[uint16][]ovf.ResourceAllocationSettingData{}
	ids := map[string]bool{}
	for _, it := range hw.Item {
		require.NotNil(t, it.ResourceType, "item %s", it.InstanceID)
		byType[*it.ResourceType] = append(byType[*it.ResourceType], it)
		assert.False(t, ids[it.InstanceID], "instance ID %s is unique", it.InstanceID)
		ids[it.InstanceID] = true
	}
	one := func(rt uint16, what string) ovf.ResourceAllocationSettingData {
		t.Helper()
		require.Len(t, byType[rt], 1, what)
		return byType[rt][0]
	}
	cpu := one(3, "processor")
	require.NotNil(t, cpu.VirtualQuantity)
	assert.Equal(t, uint(2), *cpu.VirtualQuantity)
	mem := one(4, "memory")
	require.NotNil(t, mem.VirtualQuantity)
	require.NotNil(t, mem.AllocationUnits)
	assert.Equal(t, uint(4096), *mem.VirtualQuantity)
	assert.Equal(t, "byte * 2^20", *mem.AllocationUnits)
	scsi := one(6, "SCSI controller")
	require.NotNil(t, scsi.ResourceSubType)
	assert.Equal(t, "VirtualSCSI", *scsi.ResourceSubType)
	hd := one(17, "hard disk")
	require.NotNil(t, hd.Parent)
	assert.Equal(t, scsi.InstanceID, *hd.Parent, "the disk is on the SCSI controller")
	assert.Equal(t, []string{"ovf:/disk/" + disk.DiskID}, hd.HostResource)
	nic := one(10, "ethernet adapter")
	require.NotNil(t, nic.ResourceSubType)
	assert.Equal(t, "VmxNet3", *nic.ResourceSubType)
	assert.Equal(t, []string{network}, nic.Connection, "the adapter is on the declared network")
}

// firmwareEFI reads the descriptor with namespaces honoured and returns
// whether it asks for UEFI firmware; it also checks the namespaces of the
// envelope, an OVF attribute and the CIM elements.
func firmwareEFI(t *testing.T, b []byte) bool {
	t.Helper()
	const (
		nsOVF  = "http://schemas.dmtf.org/ovf/envelope/1"
		nsRASD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
		nsVSSD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
		nsVMW  = "http://www.vmware.com/schema/ovf"
	)
	var env struct {
		XMLName xml.Name
		Disk    struct {
			Capacity string `xml:"http://schemas.dmtf.org/ovf/envelope/1 capacity,attr"`
		} `xml:"http://schemas.dmtf.org/ovf/envelope/1 DiskSection>Disk"`
		HW struct {
			System struct {
				Type string `xml:"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData VirtualSystemType"`
			} `xml:"http://schemas.dmtf.org/ovf/envelope/1 System"`
			Items []struct {
				ResourceType string `xml:"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData ResourceType"`
			} `xml:"http://schemas.dmtf.org/ovf/envelope/1 Item"`
			Config []struct {
				Required string `xml:"http://schemas.dmtf.org/ovf/envelope/1 required,attr"`
				Key      string `xml:"http://www.vmware.com/schema/ovf key,attr"`
				Value    string `xml:"http://www.vmware.com/schema/ovf value,attr"`
			} `xml:"http://www.vmware.com/schema/ovf Config"`
		} `xml:"http://schemas.dmtf.org/ovf/envelope/1 VirtualSystem>VirtualHardwareSection"`
	}
	require.NoError(t, xml.Unmarshal(b, &env))
	assert.Equal(t, xml.Name{Space: nsOVF, Local: "Envelope"}, env.XMLName)
	assert.NotEmpty(t, env.Disk.Capacity, "ovf:capacity is in the OVF namespace")
	assert.Equal(t, "vmx-13", env.HW.System.Type, "vssd: is "+nsVSSD)
	require.Len(t, env.HW.Items, 5, "rasd: is "+nsRASD)
	for _, it := range env.HW.Items {
		assert.NotEmpty(t, it.ResourceType, "rasd: is "+nsRASD)
	}
	efi := false
	for _, c := range env.HW.Config {
		if c.Key == "firmware" {
			assert.Equal(t, "efi", c.Value, "vmw: is "+nsVMW)
			assert.Equal(t, "false", c.Required)
			efi = true
		}
	}
	return efi
}

// TestOVFRefuses: what a descriptor cannot say is refused, naming it.
func TestOVFRefuses(t *testing.T) {
	t.Parallel()
	good := diskformat.Descriptor{Name: "n", DiskFile: "n-disk1.vmdk", DiskSize: 1, Capacity: 1}
	tests := []struct {
		name   string
		change func(*diskformat.Descriptor)
		want   string
	}{
		{name: "no name", change: func(d *diskformat.Descriptor) { d.Name = "" }, want: "no name"},
		{name: "arm64", change: func(d *diskformat.Descriptor) { d.Arch = "arm64" }, want: "arch arm64: an OVA describes an x86-64 (amd64) virtual machine"},
		{name: "disk file in a directory", change: func(d *diskformat.Descriptor) { d.DiskFile = "../x.vmdk" }, want: `disk file "../x.vmdk" is not a plain file name`},
		{name: "no disk file", change: func(d *diskformat.Descriptor) { d.DiskFile = "" }, want: `disk file "" is not a plain file name`},
		{name: "empty disk file", change: func(d *diskformat.Descriptor) { d.DiskSize = 0 }, want: "disk file size 0 is not positive"},
		{name: "no capacity", change: func(d *diskformat.Descriptor) { d.Capacity = -1 }, want: "disk capacity -1 is not positive"},
	}
	_, err := diskformat.OVF(good)
	require.NoError(t, err)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := good
			tc.change(&d)
			_, err := diskformat.OVF(d)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
