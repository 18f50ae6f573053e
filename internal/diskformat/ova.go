package diskformat

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubebake/kubebake/internal/atomicfile"
)

// PackageOVA is an OVF package in one file (DMTF DSP0243): a USTAR
// archive of NAME.ovf (the descriptor, first, so that a reader finds it
// without reading the disk), NAME-disk1.vmdk (the streamOptimized disk) and
// NAME.mf (SHA256 digests of both, the "SHA256(FILE)= HEX" lines VMware
// writes), the manifest at the end as the standard allows.
const PackageOVA = "ova"

// maxUSTARSize is the largest member a USTAR header can describe: its size
// field holds 11 octal digits.
const maxUSTARSize = 1<<33 - 1

// writeOVA has convert write the streamOptimized VMDK in a directory beside
// dst, describes it (its virtual size, UEFI when the disk has an EFI
// System Partition) and packs the OVA over dst.
func writeOVA(ctx context.Context, convert Convert, qemuImg QemuImg, dst string, m Machine) error {
	if m.Name == "" {
		return fmt.Errorf("ova: the machine has no name")
	}
	if err := checkArch(m.Arch); err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	dir, err := os.MkdirTemp(filepath.Dir(dst), filepath.Base(dst)+".d-*")
	if err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	defer os.RemoveAll(dir)
	stem := fileStem(m.Name)
	vmdk := filepath.Join(dir, stem+"-disk1.vmdk")
	if err := convert(ctx, vmdk); err != nil {
		return fmt.Errorf("ova: write the disk: %w", err)
	}
	capacity, err := streamCapacity(ctx, qemuImg, vmdk)
	if err != nil {
		return err
	}
	efi, err := hasESP(ctx, qemuImg, vmdk, dir)
	if err != nil {
		return err
	}
	st, err := os.Stat(vmdk)
	if err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	ovf, err := OVF(Descriptor{
		Name: m.Name, Distro: m.Distro, Release: m.Release, Arch: m.Arch,
		DiskFile: filepath.Base(vmdk), DiskSize: st.Size(), Capacity: capacity, EFI: efi,
	})
	if err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	return packOVA(dst, dir, stem, ovf, vmdk)
}

// streamCapacity asks qemu-img for a VMDK's virtual size, and checks that
// it is streamOptimized, the only subformat an OVF package carries.
func streamCapacity(ctx context.Context, qemuImg QemuImg, vmdk string) (int64, error) {
	out, err := qemuImg(ctx, "info", "--output=json", "-f", "vmdk", vmdk)
	if err != nil {
		return 0, fmt.Errorf("ova: read the disk: %w", err)
	}
	var info struct {
		VirtualSize int64 `json:"virtual-size"`
		Specific    struct {
			Data struct {
				CreateType string `json:"create-type"`
			} `json:"data"`
		} `json:"format-specific"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		return 0, fmt.Errorf("ova: qemu-img info: %w", err)
	}
	if t := info.Specific.Data.CreateType; t != "streamOptimized" {
		return 0, fmt.Errorf("ova: the disk is a %q VMDK, not streamOptimized", t)
	}
	return info.VirtualSize, nil
}

// fileStem makes name a file name for the package's members: letters,
// digits, dot, dash and underscore stay, anything else becomes a dash (the
// descriptor's References are URIs, and a USTAR name has 100 bytes), and
// it is cut at 64 bytes. The machine keeps its name in the descriptor.
func fileStem(name string) string {
	stem := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '-'
	}, name)
	stem = strings.TrimLeft(stem[:min(len(stem), 64)], ".")
	if stem == "" {
		return "kubebake"
	}
	return stem
}

// packOVA writes the OVA of the descriptor ovf and the disk vmdk into dir,
// synced, then renames it over dst (atomicfile.Rename): dst is the old
// file or the whole new package, never part of one.
func packOVA(dst, dir, stem string, ovf []byte, vmdk string) (err error) {
	disk, err := os.Open(vmdk)
	if err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	defer disk.Close()
	st, err := disk.Stat()
	if err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	if st.Size() > maxUSTARSize {
		return fmt.Errorf("ova: the disk is %d bytes; a USTAR archive (which DSP0243 requires) holds at most %d bytes a file", st.Size(), int64(maxUSTARSize))
	}
	tmp := filepath.Join(dir, stem+".ova")
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	defer func() {
		if err != nil {
			out.Close()
		}
	}()
	w := ovaWriter{tw: tar.NewWriter(out), mtime: time.Now().Truncate(time.Second)}
	ovfName, diskName := stem+".ovf", filepath.Base(vmdk)
	ovfSum, err := w.add(ovfName, int64(len(ovf)), bytes.NewReader(ovf))
	if err != nil {
		return err
	}
	diskSum, err := w.add(diskName, st.Size(), disk)
	if err != nil {
		return err
	}
	mf := fmt.Sprintf("SHA256(%s)= %x\nSHA256(%s)= %x\n", ovfName, ovfSum, diskName, diskSum)
	if _, err := w.add(stem+".mf", int64(len(mf)), strings.NewReader(mf)); err != nil {
		return err
	}
	if err := w.tw.Close(); err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("ova: sync: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	if err := atomicfile.Rename(tmp, dst); err != nil {
		return fmt.Errorf("ova: %w", err)
	}
	return nil
}

// ovaWriter adds regular files to a USTAR archive.
type ovaWriter struct {
	tw    *tar.Writer
	mtime time.Time
}

// add writes the member name of size bytes from r and returns its SHA256;
// r yielding another number of bytes is an error.
func (w ovaWriter) add(name string, size int64, r io.Reader) ([]byte, error) {
	hdr := &tar.Header{
		Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: w.mtime, Format: tar.FormatUSTAR,
	}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return nil, fmt.Errorf("ova: %s: %w", name, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w.tw, h), r)
	if err != nil {
		return nil, fmt.Errorf("ova: %s: %w", name, err)
	}
	if n != size {
		return nil, fmt.Errorf("ova: %s: %d bytes read, %d expected", name, n, size)
	}
	return h.Sum(nil), nil
}
