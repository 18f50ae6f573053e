package imagetest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// firmwareCandidates are where Debian's ovmf package puts OVMF.
func firmwareCandidates() [][2]string {
	return [][2]string{
		{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"},
		{"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"},
	}
}

// firmware finds OVMF and makes a writable copy of its variables in work.
func firmware(o Options, work string) (string, string, error) {
	code, vars := o.OVMFCode, o.OVMFVars
	if code == "" {
		for _, c := range firmwareCandidates() {
			if _, err := os.Stat(c[0]); err == nil {
				code, vars = c[0], c[1]
				break
			}
		}
	}
	if code == "" {
		return "", "", fmt.Errorf("the image boots with UEFI, but no OVMF firmware was found (apt-get install ovmf)")
	}
	src, err := os.Open(vars)
	if err != nil {
		return "", "", fmt.Errorf("OVMF variables: %w", err)
	}
	defer src.Close()
	dst := filepath.Join(work, "OVMF_VARS.fd")
	f, err := os.Create(dst)
	if err != nil {
		return "", "", err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return "", "", err
	}
	return code, dst, f.Close()
}
