package qemu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/shell"
	"github.com/kubebake/kubebake/internal/vm"
)

// stepSealShutdown reads what the provisioner baked (/etc/kubebake/image.json)
// for the manifest, and the SBOM's inventory of the image (sbom.Probe),
// then removes the build user, cloud-init state, SSH host
// keys, machine-id and logs in a detached command and waits for the guest to
// power off.
type stepSealShutdown struct {
	user    string
	skip    bool
	timeout time.Duration
}

func (s *stepSealShutdown) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get(keyUI).(packersdk.Ui)
	comm := state.Get("communicator").(packersdk.Communicator)
	m := state.Get(keyMachine).(Machine)

	var info bytes.Buffer
	if err := comm.Download(api.ImageInfoPath, &info); err == nil {
		var ii api.ImageInfo
		if json.Unmarshal(info.Bytes(), &ii) == nil {
			state.Put(keyImageInfo, ii)
			inv, err := guestInventory(ctx, comm, ii)
			if err != nil {
				return halt(state, err)
			}
			state.Put(keyInventory, inv)
		}
	} else {
		ui.Say("No /etc/kubebake/image.json in the guest (was the kubebake provisioner run?): the manifest lists no recipe, and no SBOM is written")
	}
	var images bytes.Buffer
	cmd := &packersdk.RemoteCmd{Command: "sudo -n crictl images -o json", Stdout: &images}
	if err := comm.Start(ctx, cmd); err == nil && cmd.Wait() == 0 {
		if ri, err := manifest.ParseCrictlImages(images.Bytes()); err == nil {
			state.Put(keyRuntimeImages, ri)
		}
	}
	command := "sudo -n bash -c " + shell.Quote(vm.SealAndPowerOff(s.user))
	if s.skip {
		command = "sudo -n systemctl poweroff"
		ui.Say("skip_seal: powering off without sealing")
	} else {
		ui.Say("Sealing (build user, cloud-init state, SSH host keys, machine-id, logs) and powering off")
	}
	var out bytes.Buffer
	cmd = &packersdk.RemoteCmd{Command: command, Stdout: &out, Stderr: &out}
	if err := comm.Start(ctx, cmd); err != nil {
		return haltf(state, "seal: %w", err)
	}
	if code := cmd.Wait(); code != 0 && code != packersdk.CmdDisconnect {
		return haltf(state, "seal: exit code %d: %s", code, strings.TrimSpace(out.String()))
	}
	start := time.Now()
	if err := m.Wait(ctx, s.timeout); err != nil {
		return haltf(state, "the guest did not power off within %s (shutdown_timeout): %w", s.timeout, err)
	}
	ui.Say(fmt.Sprintf("The guest powered off after %s", time.Since(start).Round(time.Second)))
	return multistep.ActionContinue
}

func (s *stepSealShutdown) Cleanup(multistep.StateBag) {}
