package imagetest

import (
	"fmt"
	"strings"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

// hasESP reports whether a raw disk has an EFI System Partition, which
// means it boots with UEFI firmware.
func hasESP(raw string) (bool, error) {
	d, err := diskfs.Open(raw, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		return false, fmt.Errorf("open %s: %w", raw, err)
	}
	defer d.Close()
	table, err := d.GetPartitionTable()
	if err != nil {
		return false, nil // no table: boots with BIOS, if at all
	}
	gt, ok := table.(*gpt.Table)
	if !ok {
		return false, nil
	}
	for _, p := range gt.Partitions {
		if p != nil && strings.EqualFold(string(p.Type), string(gpt.EFISystemPartition)) {
			return true, nil
		}
	}
	return false, nil
}
