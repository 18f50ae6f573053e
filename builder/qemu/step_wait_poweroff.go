package qemu

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/kubebake/kubebake/internal/sys"
)

var bakeResultRE = regexp.MustCompile(`kubebake-bake: (SUCCESS|FAILED: .*)`)

// stepWaitPowerOff waits for a guest that provisions itself from Ignition
// (Fedora CoreOS) to bake and power off, and reads its verdict from the
// console.
type stepWaitPowerOff struct {
	timeout time.Duration
}

func (s *stepWaitPowerOff) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get(keyUI).(packersdk.Ui)
	m := state.Get(keyMachine).(Machine)
	ui.Say(fmt.Sprintf("Waiting up to %s for the guest to bake itself from Ignition and power off", s.timeout))
	start := time.Now()
	if err := m.Wait(ctx, s.timeout); err != nil {
		return haltf(state, "provisioning boot: %w (provisioning_timeout %s)\n--- console tail ---\n%s", err, s.timeout, sys.Tail(m.Serial(), 20))
	}
	verdict := bakeResultRE.FindAllSubmatch(m.Serial(), -1)
	if len(verdict) == 0 {
		return haltf(state, "the guest powered off without a kubebake-bake verdict on its console\n--- console tail ---\n%s", sys.Tail(m.Serial(), 20))
	}
	if v := string(verdict[len(verdict)-1][1]); v != "SUCCESS" {
		return haltf(state, "the bake failed in the guest: %s\n--- console tail ---\n%s", v, sys.Tail(m.Serial(), 20))
	}
	ui.Say(fmt.Sprintf("The guest baked itself and powered off after %s", time.Since(start).Round(time.Second)))
	return multistep.ActionContinue
}

func (s *stepWaitPowerOff) Cleanup(multistep.StateBag) {}
