package qemu

import (
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// State keys the steps share.
const (
	keyConfig        = "config"
	keyDriver        = "driver"
	keyUI            = "ui"
	keyWorkDir       = "workdir"
	keySource        = "source_image_path"
	keyOverlay       = "overlay"
	keySeed          = "seed"
	keyStageDisk     = "stage_disk"
	keyIgnition      = "ignition_path"
	keyMachine       = "machine"
	keySSHPort       = "ssh_port"
	keyAccel         = "accel"
	keyImageInfo     = "image_info"
	keyOutput        = "output_image"
	keyManifest      = "manifest_path"
	keyManifestData  = "manifest"
	keyRuntimeImages = "runtime_images"
	keyInventory     = "sbom_inventory"
	keySBOM          = "sbom_path"
)

// halt records err for the runner and the UI and stops the build.
func halt(state multistep.StateBag, err error) multistep.StepAction {
	state.Put("error", err)
	if ui, ok := state.Get(keyUI).(packersdk.Ui); ok {
		ui.Error(err.Error())
	}
	return multistep.ActionHalt
}

// haltf is halt with a formatted error.
func haltf(state multistep.StateBag, format string, a ...any) multistep.StepAction {
	return halt(state, fmt.Errorf(format, a...))
}
