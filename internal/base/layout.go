package base

import "fmt"

const (
	// sectorSize is the disk's logical sector size.
	sectorSize = 512
	// mib is the partition alignment.
	mib = 1 << 20
	// gptEntriesSectors is the size of one GPT partition array (128 entries
	// of 128 bytes); the backup array and header end the disk.
	gptEntriesSectors = 128 * 128 / sectorSize
	// minRootSize is the smallest root partition accepted: a cleaned trixie
	// system takes about 600 MB.
	minRootSize = 1024 * mib
	// minESPSize is the smallest ESP: FAT32 needs 65525 clusters, 32 MiB
	// with 512-byte clusters.
	minESPSize = 64 * mib
)

// Extent is a partition's place on the disk, in bytes.
type Extent struct {
	// Start is the first byte, a multiple of 1 MiB.
	Start int64 `json:"start"`
	// Size is the length in bytes, a multiple of 1 MiB.
	Size int64 `json:"size"`
}

// FirstSector is the partition's first 512-byte sector.
func (e Extent) FirstSector() uint64 { return uint64(e.Start / sectorSize) }

// LastSector is the partition's last 512-byte sector.
func (e Extent) LastSector() uint64 { return uint64((e.Start+e.Size)/sectorSize) - 1 }

// Layout is the partitioned disk: the ESP first at 1 MiB, then the root
// partition to the end of the disk (rounded down to whole MiB before the
// backup GPT), so growpart can grow it when the disk grows.
type Layout struct {
	DiskSize int64
	ESP      Extent
	Root     Extent
}

// newLayout lays out a disk of diskSize bytes with an ESP of espSize bytes.
// Both must be multiples of 1 MiB.
func newLayout(diskSize, espSize int64) (Layout, error) {
	if diskSize <= 0 || diskSize%mib != 0 {
		return Layout{}, fmt.Errorf("disk size %d is not a positive multiple of 1 MiB", diskSize)
	}
	if espSize < minESPSize || espSize%mib != 0 {
		return Layout{}, fmt.Errorf("ESP size %d is not a multiple of 1 MiB of at least %d MiB", espSize, minESPSize/mib)
	}
	l := Layout{DiskSize: diskSize, ESP: Extent{Start: mib, Size: espSize}}
	rootStart := l.ESP.Start + l.ESP.Size
	// The last usable sector is before the backup partition array and the
	// backup header (the disk's last sector).
	usableEnd := diskSize - (gptEntriesSectors+1)*sectorSize
	rootSize := (usableEnd - rootStart) / mib * mib
	if rootSize < minRootSize {
		return Layout{}, fmt.Errorf("%w: %d MiB leaves %d MiB for root after the %d MiB ESP (want at least %d MiB)",
			ErrDiskTooSmall, diskSize/mib, max(rootSize, 0)/mib, espSize/mib, minRootSize/mib)
	}
	l.Root = Extent{Start: rootStart, Size: rootSize}
	return l, nil
}
