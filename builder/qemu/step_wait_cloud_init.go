package qemu

import (
	"bytes"
	"context"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// stepWaitCloudInit waits until cloud-init has finished the boot (it may
// still hold the package lock or be writing the build user's environment)
// before the provisioners run.
type stepWaitCloudInit struct{}

func (s *stepWaitCloudInit) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get(keyUI).(packersdk.Ui)
	comm := state.Get("communicator").(packersdk.Communicator)
	ui.Say("Waiting for cloud-init to finish")
	var out bytes.Buffer
	cmd := &packersdk.RemoteCmd{Command: "if command -v cloud-init >/dev/null; then cloud-init status --wait >/dev/null || true; fi", Stdout: &out, Stderr: &out}
	if err := comm.Start(ctx, cmd); err != nil {
		return haltf(state, "cloud-init status: %w", err)
	}
	if code := cmd.Wait(); code != 0 {
		return haltf(state, "cloud-init status: exit code %d: %s", code, strings.TrimSpace(out.String()))
	}
	return multistep.ActionContinue
}

func (s *stepWaitCloudInit) Cleanup(multistep.StateBag) {}
