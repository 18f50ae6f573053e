package base

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/google/uuid"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

// Partition names and numbers in the GPT.
const (
	espPartition  = 1
	rootPartition = 2
	espLabel      = "ESP"
	rootLabel     = "root"
)

// diskIDs are the GUIDs written into the GPT.
type diskIDs struct {
	disk, esp, root string
}

// newUUID returns a random (version 4) UUID.
func newUUID() string { return uuid.NewString() }

// gptTable is the disk's partition table: the ESP and the root partition,
// typed as an x86-64 root so systemd's discoverable-partitions logic knows it.
func gptTable(l Layout, ids diskIDs) *gpt.Table {
	return &gpt.Table{
		LogicalSectorSize:  sectorSize,
		PhysicalSectorSize: sectorSize,
		ProtectiveMBR:      true,
		GUID:               ids.disk,
		Partitions: []*gpt.Partition{
			{Index: espPartition, Start: l.ESP.FirstSector(), End: l.ESP.LastSector(), Size: uint64(l.ESP.Size),
				Type: gpt.EFISystemPartition, Name: espLabel, GUID: ids.esp},
			{Index: rootPartition, Start: l.Root.FirstSector(), End: l.Root.LastSector(), Size: uint64(l.Root.Size),
				Type: gpt.LinuxRootX86_64, Name: rootLabel, GUID: ids.root},
		},
	}
}

// assembleDisk writes a sparse raw disk at path (which must not exist): the
// GPT, a FAT32 ESP holding the UKI read from uki at ukiPath, and the root
// partition's bytes copied from the ext4 image rootImage.
func assembleDisk(path string, l Layout, ids diskIDs, uki io.Reader, rootImage string) error {
	if err := writeTableAndESP(path, l, ids, uki); err != nil {
		return err
	}
	return copyRootImage(path, l.Root, rootImage)
}

// writeTableAndESP creates the disk file with go-diskfs, partitions it and
// makes and fills the ESP.
func writeTableAndESP(path string, l Layout, ids diskIDs, uki io.Reader) (err error) {
	d, err := diskfs.Create(path, l.DiskSize, diskfs.SectorSize512)
	if err != nil {
		return fmt.Errorf("create disk: %w", err)
	}
	defer func() {
		if cerr := d.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close disk: %w", cerr)
		}
	}()
	if err := d.Partition(gptTable(l, ids)); err != nil {
		return fmt.Errorf("partition disk: %w", err)
	}
	fsys, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: espPartition, FSType: filesystem.TypeFat32, VolumeLabel: espLabel})
	if err != nil {
		return fmt.Errorf("make ESP file system: %w", err)
	}
	if err := fsys.Mkdir("/EFI/BOOT"); err != nil {
		return fmt.Errorf("ESP: mkdir /EFI/BOOT: %w", err)
	}
	f, err := fsys.OpenFile(ukiPath, os.O_CREATE|os.O_RDWR)
	if err != nil {
		return fmt.Errorf("ESP: create %s: %w", ukiPath, err)
	}
	if _, err := io.Copy(f, uki); err != nil {
		_ = f.Close()
		return fmt.Errorf("ESP: write %s: %w", ukiPath, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("ESP: write %s: %w", ukiPath, err)
	}
	return nil
}

// copyRootImage copies the ext4 image into the root partition of the disk at
// path, keeping the disk sparse: holes of the image, and blocks of zeros, are
// not written.
func copyRootImage(path string, root Extent, rootImage string) error {
	src, err := os.Open(rootImage)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	if fi.Size() > root.Size {
		return fmt.Errorf("root image %s is %d bytes, larger than the %d-byte root partition", rootImage, fi.Size(), root.Size)
	}
	dst, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := copySparse(dst, root.Start, src, fi.Size()); err != nil {
		_ = dst.Close()
		return fmt.Errorf("copy root image into disk: %w", err)
	}
	if err := dst.Sync(); err != nil {
		_ = dst.Close()
		return err
	}
	return dst.Close()
}

// Whence values of lseek(2) that find data and holes.
const (
	seekData = 3
	seekHole = 4
)

// copyChunk is the unit copySparse reads and checks for zeros.
const copyChunk = 1 << 20

// copySparse copies src's size bytes to dst at offset off, writing only the
// chunks that hold something other than zeros. It visits only src's data
// extents where the file system can tell them (SEEK_DATA, SEEK_HOLE).
func copySparse(dst io.WriterAt, off int64, src *os.File, size int64) error {
	buf := make([]byte, copyChunk)
	for pos := int64(0); pos < size; {
		start, end, err := nextData(src, pos, size)
		if err != nil {
			return err
		}
		if start >= size {
			return nil
		}
		for p := start; p < end; {
			n := min(int64(len(buf)), end-p)
			if _, err := src.ReadAt(buf[:n], p); err != nil {
				return err
			}
			if !allZero(buf[:n]) {
				if _, err := dst.WriteAt(buf[:n], off+p); err != nil {
					return err
				}
			}
			p += n
		}
		pos = end
	}
	return nil
}

// nextData returns the data extent [start, end) at or after pos; start is
// size when there is no more data. Without SEEK_DATA, everything from pos is
// data.
func nextData(f *os.File, pos, size int64) (start, end int64, err error) {
	start, err = f.Seek(pos, seekData)
	if errors.Is(err, syscall.ENXIO) {
		return size, size, nil
	}
	if errors.Is(err, syscall.EINVAL) {
		return pos, size, nil
	}
	if err != nil {
		return 0, 0, err
	}
	end, err = f.Seek(start, seekHole)
	if err != nil {
		return 0, 0, err
	}
	return start, min(end, size), nil
}

// allZero reports whether b holds only zeros.
func allZero(b []byte) bool {
	const word = 4096
	var zeros [word]byte
	for len(b) > 0 {
		n := min(len(b), word)
		if !bytes.Equal(b[:n], zeros[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}
