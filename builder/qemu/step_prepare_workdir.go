package qemu

import (
	"context"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
)

// stepPrepareWorkDir makes a private directory for the overlay, seed,
// firmware variables and console log, and removes it at the end whatever
// happened.
type stepPrepareWorkDir struct {
	dir string
}

func (s *stepPrepareWorkDir) Run(_ context.Context, state multistep.StateBag) multistep.StepAction {
	dir, err := os.MkdirTemp(os.Getenv("PACKER_TMP_DIR"), "kubebake-qemu-")
	if err != nil {
		return haltf(state, "work directory: %w", err)
	}
	s.dir = dir
	state.Put(keyWorkDir, dir)
	return multistep.ActionContinue
}

func (s *stepPrepareWorkDir) Cleanup(multistep.StateBag) {
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}
