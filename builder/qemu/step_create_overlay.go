package qemu

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// stepCreateOverlay puts a copy-on-write qcow2 overlay over the source, so
// the source is never written, grown to disk_size when given.
type stepCreateOverlay struct {
	size string
}

func (s *stepCreateOverlay) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	d := state.Get(keyDriver).(Driver)
	ui := state.Get(keyUI).(packersdk.Ui)
	src, err := filepath.Abs(state.Get(keySource).(string))
	if err != nil {
		return halt(state, err)
	}
	info, err := d.QemuImg(ctx, "info", src)
	if err != nil {
		return haltf(state, "source image: %w", err)
	}
	overlay := filepath.Join(state.Get(keyWorkDir).(string), "disk.qcow2")
	if _, err := d.QemuImg(ctx, overlayArgs(src, sourceFormat(info, src), overlay, s.size)...); err != nil {
		return haltf(state, "overlay: %w", err)
	}
	ui.Say(fmt.Sprintf("Created a copy-on-write overlay of %s", src))
	state.Put(keyOverlay, overlay)
	return multistep.ActionContinue
}

// Cleanup: the overlay lives in the work directory, removed with it.
func (s *stepCreateOverlay) Cleanup(multistep.StateBag) {}
