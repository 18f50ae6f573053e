package kubebake

import (
	"fmt"
	"os"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kubebake/kubebake/internal/apply"
)

// stageDisk finds, in the build's data, the stage disk the builder
// attached (kubebake-qemu does; apply.StageDiskVar): its path on this
// machine and its size, or why there is none to write.
func stageDisk(data map[string]interface{}) (string, int64, string) {
	v, ok := data[apply.StageDiskVar]
	if !ok {
		return "", 0, "the builder attached no stage disk (only kubebake-qemu does)"
	}
	var path string
	switch x := v.(type) {
	case string:
		path = x
	case []byte:
		path = string(x)
	default:
		return "", 0, fmt.Sprintf("the builder's %s is not a path: %v", apply.StageDiskVar, v)
	}
	if path == "" || path == "<no value>" {
		return "", 0, "the builder attached no stage disk (its stage_disk_size is none)"
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", 0, fmt.Sprintf("the builder's stage disk is not on this machine: %v", err)
	}
	if !info.Mode().IsRegular() {
		return "", 0, fmt.Sprintf("the builder's stage disk %s is not a regular file", path)
	}
	return path, info.Size(), ""
}

// stageOnDisk writes the plan's stage into the builder's stage disk when
// there is one and the stage fits it, and says in one line which way the
// stage goes, how large it is and why; it reports whether the machine
// unpacks the stage from the disk. Otherwise the stage is uploaded through
// the communicator.
func (p *Provisioner) stageOnDisk(ui packersdk.Ui, data map[string]interface{}, inputs map[string]string) (bool, error) {
	size, err := apply.StageBytes(p.plan, inputs)
	if err != nil {
		return false, err
	}
	disk, capacity, why := stageDisk(data)
	if disk != "" && size > capacity {
		why = fmt.Sprintf("it does not fit the %s stage disk (the builder's stage_disk_size)", megabytes(capacity))
		disk = ""
	}
	if disk != "" {
		start := time.Now()
		n, err := apply.FillStageDisk(disk, p.plan, inputs)
		if err == nil {
			ui.Say(fmt.Sprintf("kubebake: [stage] wrote the plan's %s into the stage disk in %.1fs; the machine unpacks it from there (%s)",
				megabytes(n), time.Since(start).Seconds(), disk))
			return true, nil
		}
		why = "writing the stage disk failed: " + err.Error()
	}
	ui.Say(fmt.Sprintf("kubebake: [stage] uploading the plan's %s through the communicator: %s", megabytes(size), why))
	return false, nil
}

// megabytes prints a size in MB, as the bake's other lines do, or in
// bytes when that would round it away.
func megabytes(n int64) string {
	if n < 100_000 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
