package base

import (
	"fmt"
	"strings"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

// linuxFilesystem is the GPT type of a Linux data partition; linuxRootX86
// that of an x86-64 root partition (Discoverable Partitions Specification).
const (
	linuxFilesystem = gpt.LinuxFilesystem
	linuxRootX86    = gpt.Type("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709")
)

// RootPartition is where the root filesystem is inside a raw disk image.
type RootPartition struct {
	Index  int
	Offset int64
	Size   int64
}

// FindRoot reads the GPT of a raw disk image and returns its root
// partition: the one named "root", else the only Linux root or data
// partition.
func FindRoot(rawImage string) (RootPartition, error) {
	d, err := diskfs.Open(rawImage, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		return RootPartition{}, fmt.Errorf("open %s: %w", rawImage, err)
	}
	defer d.Close()
	table, err := d.GetPartitionTable()
	if err != nil {
		return RootPartition{}, fmt.Errorf("%s: partition table: %w", rawImage, err)
	}
	gt, ok := table.(*gpt.Table)
	if !ok {
		return RootPartition{}, fmt.Errorf("%s: not a GPT disk", rawImage)
	}
	var candidates []*gpt.Partition
	for _, p := range gt.Partitions {
		if p == nil || p.Size == 0 {
			continue
		}
		if strings.EqualFold(p.Name, "root") {
			return RootPartition{Index: p.Index, Offset: p.GetStart(), Size: p.GetSize()}, nil
		}
		if strings.EqualFold(string(p.Type), string(linuxFilesystem)) || strings.EqualFold(string(p.Type), string(linuxRootX86)) {
			candidates = append(candidates, p)
		}
	}
	if len(candidates) != 1 {
		return RootPartition{}, fmt.Errorf("%s: want one partition named root or one Linux partition, found %d", rawImage, len(candidates))
	}
	p := candidates[0]
	return RootPartition{Index: p.Index, Offset: p.GetStart(), Size: p.GetSize()}, nil
}
