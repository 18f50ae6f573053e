package nocloud

import (
	"encoding/binary"
	"fmt"
	"os"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// logicalBlocksize is the ISO9660 logical block size; go-diskfs accepts only
// 2048, 4096 or 8192, and 2048 is what every reader expects.
const logicalBlocksize = 2048

// pvdOffset is where the primary volume descriptor starts (sector 16), and
// pvdVolumeSizeOffset where in it the volume size in blocks is, little-endian.
const (
	pvdOffset           = 16 * logicalBlocksize
	pvdVolumeSizeOffset = 80
)

// buildISO writes files into f, which must be new and empty, as a cidata ISO9660
// volume. go-diskfs stages the files in a workspace directory and lays out the
// image on Finalize.
func buildISO(f *os.File, files []seedFile) error {
	ws, err := os.MkdirTemp("", "kubebake-nocloud-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ws)
	// Rock Ridge records the workspace's mode as the root directory's.
	if err := os.Chmod(ws, 0o755); err != nil {
		return err
	}
	img := &zeroSkippingFile{File: f}
	iso, err := iso9660.Create(file.New(img, false), 0, 0, logicalBlocksize, ws)
	if err != nil {
		return fmt.Errorf("create ISO9660: %w", err)
	}
	for _, sf := range files {
		if err := addFile(iso, sf); err != nil {
			return err
		}
	}
	opts := iso9660.FinalizeOptions{RockRidge: true, Joliet: true, VolumeIdentifier: VolumeLabel}
	if err := iso.Finalize(opts); err != nil {
		return fmt.Errorf("finalize ISO9660: %w", err)
	}
	// go-diskfs drops some write errors on the floor: the first one the
	// image file saw fails the seed whatever Finalize said.
	if img.err != nil {
		return fmt.Errorf("write ISO9660: %w", img.err)
	}
	return padToVolumeSize(f)
}

// addFile stages one file in the ISO's workspace.
func addFile(iso *iso9660.FileSystem, sf seedFile) error {
	w, err := iso.OpenFile("/"+sf.name, os.O_CREATE|os.O_RDWR|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("add %s: %w", sf.name, err)
	}
	if _, err := w.Write(sf.data); err != nil {
		_ = w.Close()
		return fmt.Errorf("add %s: %w", sf.name, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("add %s: %w", sf.name, err)
	}
	return nil
}

// padToVolumeSize extends f to the volume size its primary volume descriptor
// declares. go-diskfs v1.9.4 stops writing where its last data ends, up to a
// block short of that size, and a loop device rounds a file down to whole
// 512-byte sectors, so the kernel would see a truncated volume.
func padToVolumeSize(f *os.File) error {
	var b [4]byte
	if _, err := f.ReadAt(b[:], pvdOffset+pvdVolumeSizeOffset); err != nil {
		return fmt.Errorf("read volume size: %w", err)
	}
	want := int64(binary.LittleEndian.Uint32(b[:])) * logicalBlocksize
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() < want {
		return f.Truncate(want)
	}
	return nil
}

// zeroSkippingFile is the new, empty image file as go-diskfs sees it: writes
// of nothing but zeros are dropped, which changes nothing, since the file
// reads zeros wherever nothing was written. It works around go-diskfs v1.9.4
// padding a file whose size is a whole number of blocks (an empty user-data,
// say) with one more block of zeros, which lands on whatever follows it; after
// the last file, that is the Joliet root directory.
//
// It also keeps the first write error, which go-diskfs does not always pass
// on.
type zeroSkippingFile struct {
	*os.File
	err error
}

// WriteAt writes p at off unless p is all zeros.
func (f *zeroSkippingFile) WriteAt(p []byte, off int64) (int, error) {
	for _, b := range p {
		if b != 0 {
			n, err := f.File.WriteAt(p, off)
			if err != nil && f.err == nil {
				f.err = err
			}
			return n, err
		}
	}
	return len(p), nil
}

// Write writes p unless an earlier write failed.
func (f *zeroSkippingFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	if err != nil && f.err == nil {
		f.err = err
	}
	return n, err
}
