package qemu

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/apply"
	"github.com/kubebake/kubebake/internal/testutil"
)

// TestPrepareStageDiskSize: stage_disk_size takes disk_size's sizes
// (powers of 1024) or none, defaults to 32G, and a bad one is named.
func TestPrepareStageDiskSize(t *testing.T) {
	t.Parallel()
	src := sourceImage(t)
	tests := []struct {
		name    string
		size    any
		want    int64
		wantErr string
	}{
		{name: "default", want: 32 << 30},
		{name: "megabytes", size: "4096M", want: 4096 << 20},
		{name: "terabytes", size: "1T", want: 1 << 40},
		{name: "none", size: "none", want: 0},
		{name: "zero", size: "0", want: 0},
		{name: "zero as a number", size: 0, want: 0},
		{name: "words", size: "32 gigs", wantErr: `stage_disk_size: "32 gigs" must be a size such as 32G or 4096M, or none`},
		{name: "binary suffix", size: "32GiB", wantErr: `stage_disk_size: "32GiB"`},
		{name: "no unit", size: "1048576", wantErr: `stage_disk_size: "1048576"`},
		{name: "negative", size: "-1G", wantErr: `stage_disk_size: "-1G"`},
		{name: "overflow", size: "99999999999T", wantErr: `stage_disk_size: "99999999999T"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := map[string]interface{}{"source_image": src, "output_directory": filepath.Join(t.TempDir(), "out")}
			if tc.size != nil {
				raw["stage_disk_size"] = tc.size
			}
			var c Config
			_, err := c.Prepare(raw)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, c.stageDiskBytes)
		})
	}
}

// TestStageDiskStep: the step makes a sparse raw file of the size asked
// for in the work directory (qemu-img reads it as such), gives the
// provisioners its absolute path through the data Packer's own
// StepProvision hands them, the machine gets it read-only with its serial,
// and it is gone at cleanup. With no stage disk the variable is empty and
// the machine has no such drive.
func TestStageDiskStep(t *testing.T) {
	tests := []struct {
		name string
		size int64
	}{
		{name: "1 GiB", size: 1 << 30},
		{name: "none", size: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Packer's temp directory may be relative: the provisioner runs
			// in another process, so the path it gets is absolute.
			t.Chdir(t.TempDir())
			require.NoError(t, os.Mkdir("tmp", 0o755))
			t.Setenv("PACKER_TMP_DIR", "tmp")
			c := &Config{Accelerator: "tcg", Firmware: "bios", CPUs: 2, Memory: 2048, QemuBinary: "qemu-system-x86_64"}
			d := &mockDriver{}
			state, ui := newState(t, c, d)
			state.Put(keyOverlay, "/w/disk.qcow2")
			work := &stepPrepareWorkDir{}
			require.Equal(t, multistep.ActionContinue, work.Run(context.Background(), state))
			defer work.Cleanup(state)
			step := &stepCreateStageDisk{size: tc.size}
			require.Equal(t, multistep.ActionContinue, step.Run(context.Background(), state), "%v", state.Get("error"))

			data := commonsteps.PopulateProvisionHookData(state)
			path, ok := data[apply.StageDiskVar].(string)
			require.True(t, ok, "the provisioners see %s: %v", apply.StageDiskVar, data)
			run := &stepRunMachine{config: c}
			require.Equal(t, multistep.ActionContinue, run.Run(context.Background(), state))
			started := strings.Join(d.started[0], " ")
			if tc.size == 0 {
				assert.Empty(t, path)
				assert.NotContains(t, started, "kubebake-stage")
				entries, err := os.ReadDir(state.Get(keyWorkDir).(string))
				require.NoError(t, err)
				assert.Empty(t, entries)
				return
			}
			require.True(t, filepath.IsAbs(path), path)
			assert.Equal(t, "stage.raw", filepath.Base(path))
			info, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, tc.size, info.Size())
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
			assert.Zero(t, info.Sys().(*syscall.Stat_t).Blocks, "sparse: no block is allocated")
			assert.Contains(t, ui.String(), "Stage disk "+path+" (1024 MiB, sparse)")
			assert.Contains(t, started, "file="+path+",readonly=on -device virtio-blk-pci,drive=disk1,serial="+apply.StageDiskSerial)

			out, err := exec.Command(testutil.Tool(t, "qemu-img"), "info", "--output=json", path).Output()
			require.NoError(t, err)
			var img struct {
				Format      string `json:"format"`
				VirtualSize int64  `json:"virtual-size"`
			}
			require.NoError(t, json.Unmarshal(out, &img))
			assert.Equal(t, "raw", img.Format)
			assert.Equal(t, tc.size, img.VirtualSize)

			step.Cleanup(state)
			_, err = os.Stat(path)
			assert.True(t, os.IsNotExist(err), "the stage disk is removed at cleanup")
		})
	}
}

// TestStepsAttachTheStageDisk: SSH builds create the stage disk before the
// machine starts; Fedora CoreOS builds (no provisioners) do not.
func TestStepsAttachTheStageDisk(t *testing.T) {
	tests := []struct {
		name     string
		ignition string
		want     bool
	}{
		{name: "ssh", want: true},
		{name: "ignition", ignition: "fedora-coreos-cri-o"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &Builder{config: Config{IgnitionRecipe: tc.ignition, stageDiskBytes: 1 << 30}}
			stage, run := -1, -1
			for i, s := range b.steps(time.Time{}, time.Now) {
				switch s.(type) {
				case *stepCreateStageDisk:
					stage = i
				case *stepRunMachine:
					run = i
				}
			}
			require.Positive(t, run)
			if !tc.want {
				assert.Equal(t, -1, stage)
				return
			}
			assert.Positive(t, stage)
			assert.Less(t, stage, run, "the disk exists before QEMU opens it")
		})
	}
}
