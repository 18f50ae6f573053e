package qemu

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/packerbuilderdata"

	"github.com/kubebake/kubebake/internal/apply"
)

// stepCreateStageDisk creates the stage disk: a sparse raw file of size
// bytes in the work directory, which the machine gets read-only with the
// serial apply.StageDiskSerial. Its absolute path goes to the provisioners
// as the build variable apply.StageDiskVar (empty without a disk): the
// kubebake provisioner writes its stage into it while the machine runs,
// and the guest reads it from there instead of through SSH. The file goes
// at cleanup.
type stepCreateStageDisk struct {
	size int64
	path string
}

func (s *stepCreateStageDisk) Run(_ context.Context, state multistep.StateBag) multistep.StepAction {
	data := &packerbuilderdata.GeneratedData{State: state}
	if s.size == 0 {
		data.Put(apply.StageDiskVar, "")
		return multistep.ActionContinue
	}
	work, err := filepath.Abs(state.Get(keyWorkDir).(string))
	if err != nil {
		return haltf(state, "stage disk: %w", err)
	}
	path := filepath.Join(work, "stage.raw")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return haltf(state, "stage disk: %w", err)
	}
	s.path = path
	if err := f.Truncate(s.size); err != nil {
		f.Close()
		return haltf(state, "stage disk: %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return haltf(state, "stage disk: %s: %w", path, err)
	}
	state.Put(keyStageDisk, path)
	data.Put(apply.StageDiskVar, path)
	if ui, ok := state.Get(keyUI).(packersdk.Ui); ok {
		ui.Say(fmt.Sprintf("Stage disk %s (%d MiB, sparse) for the kubebake provisioner's plan", path, s.size>>20))
	}
	return multistep.ActionContinue
}

func (s *stepCreateStageDisk) Cleanup(multistep.StateBag) {
	if s.path != "" {
		os.Remove(s.path)
	}
}
