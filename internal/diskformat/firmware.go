package diskformat

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"
)

// hasESP reports whether the VMDK disk has an EFI System Partition, that
// is whether it boots with UEFI: kubebake base images boot only that way
// (a UKI on the ESP, no BIOS boot loader), and a cloud image that boots
// either way has an ESP beside its BIOS boot loader. A disk without one (a
// GPT without, an MBR without a partition of type 0xEF, no partition
// table) boots with BIOS. The partition table is read from the disk's
// first MiB, which qemu-img dd copies into dir.
func hasESP(ctx context.Context, qemuImg QemuImg, vmdk, dir string) (bool, error) {
	head := filepath.Join(dir, "head.raw")
	if _, err := qemuImg(ctx, "dd", "-f", "vmdk", "-O", "raw", "bs=1M", "count=1", "if="+vmdk, "of="+head); err != nil {
		return false, fmt.Errorf("ova: read the partition table: %w", err)
	}
	d, err := diskfs.Open(head, diskfs.WithOpenMode(diskfs.ReadOnly))
	if err != nil {
		return false, fmt.Errorf("ova: read the partition table: %w", err)
	}
	defer d.Close()
	table, err := d.GetPartitionTable()
	if err != nil {
		return false, nil // no partition table: nothing UEFI could boot
	}
	switch t := table.(type) {
	case *gpt.Table:
		for _, p := range t.Partitions {
			if p != nil && strings.EqualFold(string(p.Type), string(gpt.EFISystemPartition)) {
				return true, nil
			}
		}
	case *mbr.Table:
		for _, p := range t.Partitions {
			if p != nil && p.Type == mbr.EFISystem {
				return true, nil
			}
		}
	}
	return false, nil
}
