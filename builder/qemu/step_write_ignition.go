package qemu

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/internal/firstbootbin"
)

// stepWriteIgnition writes the Fedora CoreOS recipe's Ignition config, with
// its inputs, for QEMU's fw_cfg.
type stepWriteIgnition struct {
	recipe, firstboot string
}

func (s *stepWriteIgnition) Run(_ context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get(keyUI).(packersdk.Ui)
	var bin []byte
	var err error
	if s.firstboot != "" {
		bin, err = os.ReadFile(s.firstboot)
	} else {
		bin, err = firstbootbin.For("amd64")
	}
	if err != nil {
		return haltf(state, "firstboot_binary: %w", err)
	}
	ign, p, err := ignitionFor(s.recipe, map[string][]byte{"kubebake-firstboot": bin})
	if err != nil {
		return halt(state, err)
	}
	f := filepath.Join(state.Get(keyWorkDir).(string), "config.ign")
	if err := os.WriteFile(f, ign, 0o600); err != nil {
		return halt(state, err)
	}
	ui.Say(fmt.Sprintf("Ignition for recipe %s: %d bytes", p.Recipe, len(ign)))
	state.Put(keyIgnition, f)
	// The image's image.json is the plan's: the manifest and the artifact
	// say what was baked without asking the guest.
	for _, pf := range p.Files {
		var ii api.ImageInfo
		if pf.Path == api.ImageInfoPath && json.Unmarshal(pf.Content, &ii) == nil {
			state.Put(keyImageInfo, ii)
		}
	}
	return multistep.ActionContinue
}

func (s *stepWriteIgnition) Cleanup(multistep.StateBag) {}
