package diskformat_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/kubebake/kubebake/internal/atomicfile"
	"github.com/kubebake/kubebake/internal/diskformat"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/testutil"
)

const diskSize = 64 << 20

// partitioned writes a raw disk of diskSize bytes at path with go-diskfs:
// partitioned by table, or blank when table is nil.
func partitioned(t *testing.T, path string, table interface{}) {
	t.Helper()
	d, err := diskfs.Create(path, diskSize, diskfs.SectorSize512)
	require.NoError(t, err)
	switch tb := table.(type) {
	case *gpt.Table:
		require.NoError(t, d.Partition(tb))
	case *mbr.Table:
		require.NoError(t, d.Partition(tb))
	}
	require.NoError(t, d.Close())
}

// qcow2Disk makes a small qcow2 source: a raw disk partitioned by table
// (nil: blank), converted by the real qemu-img.
func qcow2Disk(t *testing.T, qemuImg string, table interface{}) string {
	t.Helper()
	dir := t.TempDir()
	raw, qcow2 := filepath.Join(dir, "disk.raw"), filepath.Join(dir, "disk.qcow2")
	if table == nil {
		out, err := exec.Command(qemuImg, "create", "-q", "-f", "qcow2", qcow2, strconv.Itoa(diskSize)).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return qcow2
	}
	partitioned(t, raw, table)
	out, err := exec.Command(qemuImg, "convert", "-q", "-f", "raw", "-O", "qcow2", raw, qcow2).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return qcow2
}

// convertWith is the Convert kubebake's callers give Write: qemu-img
// convert of src (qcow2) with f's arguments.
func convertWith(qemuImg diskformat.QemuImg, f diskformat.Format, src string) diskformat.Convert {
	return func(ctx context.Context, dst string) error {
		args, err := f.ConvertArgs("qcow2", src, diskformat.DefaultCompression, dst)
		if err != nil {
			return err
		}
		_, err = qemuImg(ctx, args...)
		return err
	}
}

// TestWriteOVA writes real OVAs from small qcow2 disks with the real
// qemu-img and checks them: the archive (checkOVA: USTAR, members in
// order, manifest digests), the descriptor as govmomi parses it (disk size
// and capacity, guest, hardware), the firmware it asks for against the
// disk's partition table, and the extracted disk, which qemu-img reads as
// a streamOptimized VMDK of the source's virtual size and checks clean.
// Nothing but the OVA is left in the output directory.
func TestWriteOVA(t *testing.T) {
	bin := testutil.Tool(t, "qemu-img")
	qemuImg := diskformat.QemuImgVia(sys.Exec{}, bin)
	f, ok := diskformat.Lookup("ova")
	require.True(t, ok)
	assert.Equal(t, "ova", f.Ext)
	esp := &gpt.Table{
		LogicalSectorSize: 512, PhysicalSectorSize: 512, ProtectiveMBR: true,
		Partitions: []*gpt.Partition{
			{Index: 1, Start: 2048, End: 2048 + 16384 - 1, Size: 16384 * 512, Type: gpt.EFISystemPartition, Name: "esp"},
			{Index: 2, Start: 18432, End: 120831, Size: (120831 - 18432 + 1) * 512, Type: gpt.LinuxFilesystem, Name: "root"},
		},
	}
	noESP := &gpt.Table{
		LogicalSectorSize: 512, PhysicalSectorSize: 512, ProtectiveMBR: true,
		Partitions: []*gpt.Partition{
			{Index: 1, Start: 2048, End: 4095, Size: 2048 * 512, Type: gpt.BIOSBoot, Name: "bios"},
			{Index: 2, Start: 4096, End: 120831, Size: (120831 - 4096 + 1) * 512, Type: gpt.LinuxFilesystem, Name: "root"},
		},
	}
	mbrESP := &mbr.Table{
		LogicalSectorSize: 512, PhysicalSectorSize: 512,
		Partitions: []*mbr.Partition{{Bootable: true, Type: mbr.EFISystem, Start: 2048, Size: 16384}},
	}
	tests := []struct {
		name    string
		table   interface{}
		machine diskformat.Machine
		stem    string
		efi     bool
		cimID   int16
		osType  types.VirtualMachineGuestOsIdentifier
	}{
		{
			name: "GPT with an ESP: UEFI", table: esp, efi: true,
			machine: diskformat.Machine{Name: "debian-13-containerd", Distro: "debian", Release: "13", Arch: "amd64"},
			stem:    "debian-13-containerd", cimID: 96, osType: types.VirtualMachineGuestOsIdentifierDebian10_64Guest,
		},
		{
			name: "GPT with BIOS boot only: BIOS", table: noESP,
			machine: diskformat.Machine{Name: "ubuntu-24.04-containerd", Distro: "ubuntu", Release: "24.04"},
			stem:    "ubuntu-24.04-containerd", cimID: 94, osType: types.VirtualMachineGuestOsIdentifierUbuntu64Guest,
		},
		{
			name: "MBR with an EFI partition: UEFI", table: mbrESP, efi: true,
			machine: diskformat.Machine{Name: "rocky 9/node", Distro: "rocky", Release: "9"},
			stem:    "rocky-9-node", cimID: 80, osType: types.VirtualMachineGuestOsIdentifierRhel7_64Guest,
		},
		{
			name: "blank disk: BIOS", table: nil,
			machine: diskformat.Machine{Name: "blank"},
			stem:    "blank", cimID: 101, osType: types.VirtualMachineGuestOsIdentifierOther3xLinux64Guest,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := qcow2Disk(t, bin, tc.table)
			out := t.TempDir()
			dst := filepath.Join(out, ".image.ova.tmp-1-1")
			require.NoError(t, os.WriteFile(dst, nil, 0o600)) // as publish's CreateTemp leaves it
			require.NoError(t, f.Write(context.Background(), convertWith(qemuImg, f, src), qemuImg, dst, tc.machine))
			assert.Equal(t, []string{filepath.Base(dst)}, testutil.DirNames(t, out), "only the OVA is left")

			x := t.TempDir()
			c, err := checkOVA(dst, x)
			require.NoError(t, err)
			vmdk := tc.stem + "-disk1.vmdk"
			assert.Equal(t, []string{tc.stem + ".ovf", vmdk, tc.stem + ".mf"}, c.Members)
			st, err := os.Stat(filepath.Join(x, vmdk))
			require.NoError(t, err)
			assertDescribes(t, c.Env, diskformat.Descriptor{
				Name: tc.machine.Name, DiskFile: vmdk, DiskSize: st.Size(), Capacity: diskSize,
			}, tc.cimID, tc.osType)
			assert.Equal(t, tc.efi, firmwareEFI(t, c.Descriptor), "UEFI exactly when the disk has an ESP")

			js, err := exec.Command(bin, "info", "--output=json", filepath.Join(x, vmdk)).Output()
			require.NoError(t, err)
			var info struct {
				Format      string `json:"format"`
				VirtualSize int64  `json:"virtual-size"`
				Specific    struct {
					Data struct {
						CreateType string `json:"create-type"`
					} `json:"data"`
				} `json:"format-specific"`
			}
			require.NoError(t, json.Unmarshal(js, &info))
			assert.Equal(t, "vmdk", info.Format)
			assert.Equal(t, "streamOptimized", info.Specific.Data.CreateType)
			assert.Equal(t, int64(diskSize), info.VirtualSize)
			check, err := exec.Command(bin, "check", filepath.Join(x, vmdk)).CombinedOutput()
			require.NoError(t, err, "qemu-img check: %s", check)
			same, err := exec.Command(bin, "compare", "-q", src, filepath.Join(x, vmdk)).CombinedOutput()
			require.NoError(t, err, "the packed disk holds the source's data: %s", same)
		})
	}
}

// TestCheckOVADetects: the checker TestWriteOVA relies on refuses OVAs
// that break the layout: each case rebuilds a real OVA with one fault, and
// the rebuild without a fault passes.
func TestCheckOVADetects(t *testing.T) {
	bin := testutil.Tool(t, "qemu-img")
	qemuImg := diskformat.QemuImgVia(sys.Exec{}, bin)
	f, _ := diskformat.Lookup("ova")
	good := filepath.Join(t.TempDir(), "good.ova")
	require.NoError(t, f.Write(context.Background(), convertWith(qemuImg, f, qcow2Disk(t, bin, nil)), qemuImg, good, diskformat.Machine{Name: "n"}))
	members := readMembers(t, good)
	require.Len(t, members, 3)
	ovfM, disk, mf := members[0], members[1], members[2]

	tests := []struct {
		name    string
		members []member
		format  tar.Format
		want    string // empty: passes
	}{
		{name: "as written", members: members},
		{name: "manifest digest corrupted", members: []member{ovfM, disk, {mf.name, corruptDigest(mf.body)}}, want: "manifest digest of n.ovf"},
		{name: "disk corrupted", members: []member{ovfM, {disk.name, flipLastByte(disk.body)}, mf}, want: "manifest digest of n-disk1.vmdk"},
		{name: "manifest without the disk", members: []member{ovfM, disk, {mf.name, []byte(strings.SplitAfter(string(mf.body), "\n")[0])}}, want: "manifest does not list n-disk1.vmdk"},
		{name: "disk before the descriptor", members: []member{disk, ovfM, mf}, want: "first member n-disk1.vmdk: want the .ovf descriptor"},
		{name: "manifest not last", members: []member{ovfM, mf, disk}, want: "follows the manifest"},
		{name: "no manifest", members: []member{ovfM, disk}, want: "no manifest"},
		{name: "disk missing", members: []member{ovfM, mf}, want: "References name 1 files"},
		{name: "GNU tar headers", members: members, format: tar.FormatGNU, want: "not USTAR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.ova")
			writeMembers(t, p, tc.members, tc.format)
			_, err := checkOVA(p, t.TempDir())
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// member is one file of an archive.
type member struct {
	name string
	body []byte
}

func readMembers(t *testing.T, path string) []member {
	t.Helper()
	fh, err := os.Open(path)
	require.NoError(t, err)
	defer fh.Close()
	var out []member
	tr := tar.NewReader(fh)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		out = append(out, member{hdr.Name, b})
	}
}

func writeMembers(t *testing.T, path string, ms []member, format tar.Format) {
	t.Helper()
	if format == tar.FormatUnknown {
		format = tar.FormatUSTAR
	}
	fh, err := os.Create(path)
	require.NoError(t, err)
	tw := tar.NewWriter(fh)
	for _, m := range ms {
		require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: m.name, Size: int64(len(m.body)), Mode: 0o644, Format: format}))
		_, err := tw.Write(m.body)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, fh.Close())
}

// corruptDigest changes the first digest's last hex digit.
func corruptDigest(mf []byte) []byte {
	s := string(mf)
	i := strings.Index(s, "\n") - 1
	c := byte('0')
	if s[i] == '0' {
		c = '1'
	}
	return []byte(s[:i] + string(c) + s[i+1:])
}

func flipLastByte(b []byte) []byte {
	out := append([]byte(nil), b...)
	out[len(out)-1] ^= 0xff
	return out
}

// TestWriteOVAFailures: when the OVA cannot be made, Write says why, the
// previous file at dst stays as it was and nothing is left beside it.
func TestWriteOVAFailures(t *testing.T) {
	bin := testutil.Tool(t, "qemu-img")
	qemuImg := diskformat.QemuImgVia(sys.Exec{}, bin)
	f, _ := diskformat.Lookup("ova")
	src := qcow2Disk(t, bin, nil)
	tests := []struct {
		name      string
		convert   diskformat.Convert
		machine   diskformat.Machine
		converted bool // the conversion ran
		want      string
	}{
		{
			name: "qemu-img fails", machine: diskformat.Machine{Name: "n"}, converted: true,
			convert: convertWith(qemuImg, f, filepath.Join(t.TempDir(), "missing.qcow2")),
			want:    "ova: write the disk: command failed: " + bin + " convert",
		},
		{
			name: "not a streamOptimized disk", machine: diskformat.Machine{Name: "n"}, converted: true,
			convert: func(ctx context.Context, dst string) error {
				_, err := qemuImg(ctx, "convert", "-q", "-f", "qcow2", "-O", "vmdk", "-o", "subformat=monolithicSparse", src, dst)
				return err
			},
			want: `ova: the disk is a "monolithicSparse" VMDK, not streamOptimized`,
		},
		{
			name: "arm64", machine: diskformat.Machine{Name: "n", Arch: "arm64"},
			convert: convertWith(qemuImg, f, src),
			want:    "ova: arch arm64: an OVA describes an x86-64 (amd64) virtual machine",
		},
		{
			name: "no name", machine: diskformat.Machine{},
			convert: convertWith(qemuImg, f, src),
			want:    "ova: the machine has no name",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			dst := filepath.Join(out, "image.ova")
			require.NoError(t, os.WriteFile(dst, []byte("old"), 0o644))
			ran := false
			convert := func(ctx context.Context, p string) error {
				ran = true
				return tc.convert(ctx, p)
			}
			err := f.Write(context.Background(), convert, qemuImg, dst, tc.machine)
			require.ErrorContains(t, err, tc.want)
			assert.Equal(t, tc.converted, ran, "the conversion runs only when the machine can be described")
			b, err := os.ReadFile(dst)
			require.NoError(t, err)
			assert.Equal(t, "old", string(b))
			assert.Equal(t, []string{"image.ova"}, testutil.DirNames(t, out), "nothing is left beside it")
		})
	}
}

// TestWriteOVAWorkDirIsALeftover: the directory the disk is converted in
// is named after dst, so when dst is a temporary file of the image
// (atomicfile.CreateTemp, as publish makes it) a killed build's directory
// is one of the image's leftovers, which the next build removes.
func TestWriteOVAWorkDirIsALeftover(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	image := filepath.Join(out, "debian-13-containerd.ova")
	tmp, err := atomicfile.CreateTemp(image)
	require.NoError(t, err)
	require.NoError(t, tmp.Close())
	f, _ := diskformat.Lookup("ova")
	var workDir string
	stop := errors.New("killed")
	err = f.Write(context.Background(), func(_ context.Context, dst string) error {
		workDir = filepath.Dir(dst)
		return stop
	}, nil, tmp.Name(), diskformat.Machine{Name: "debian-13-containerd"})
	require.ErrorIs(t, err, stop)
	assert.Equal(t, out, filepath.Dir(workDir), "beside the image")
	prefix := "." + filepath.Base(image) + ".tmp-" + strconv.Itoa(os.Getpid()) + "-"
	assert.True(t, strings.HasPrefix(filepath.Base(workDir), prefix), "%s is named as a temporary of %s (%s...)", workDir, image, prefix)
}
