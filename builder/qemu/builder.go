// Package qemu is the kubebake-qemu Packer builder: it bakes a qcow2 (or
// raw) image on this machine from a cloud image. It boots the image on a
// copy-on-write overlay under QEMU (KVM when it really works, TCG
// otherwise) with a NoCloud seed that creates a build user for an ephemeral
// SSH key, lets the provisioners run over SSH (the kubebake provisioner
// writes its plan's stage into a stage disk the machine has attached
// instead of uploading it), seals the guest and powers it off, and writes
// the image with qemu-img and a manifest.json. Fedora
// CoreOS images bake themselves from the recipe's Ignition (passed through
// fw_cfg) instead.
package qemu

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/sys"
)

// BuilderID identifies the builder's artifacts.
const BuilderID = "kubebake.qemu"

// Builder is the kubebake-qemu builder.
type Builder struct {
	config Config
	// driver replaces the host driver in tests.
	driver Driver
	now    func() time.Time
}

// ConfigSpec describes the configuration for HCL2.
func (b *Builder) ConfigSpec() hcldec.ObjectSpec { return b.config.FlatMapstructure().HCL2Spec() }

// Prepare decodes and validates the configuration.
func (b *Builder) Prepare(raws ...interface{}) ([]string, []string, error) {
	warnings, err := b.config.Prepare(raws...)
	if err != nil {
		return nil, warnings, err
	}
	return GeneratedVars(), warnings, nil
}

// Run bakes the image.
func (b *Builder) Run(ctx context.Context, ui packersdk.Ui, hook packersdk.Hook) (packersdk.Artifact, error) {
	c := &b.config
	d := b.driver
	if d == nil {
		d = &hostDriver{qemu: c.QemuBinary, qemuImg: c.QemuImgBinary, runner: sys.Exec{}}
	}
	now := b.now
	if now == nil {
		now = time.Now
	}
	state := new(multistep.BasicStateBag)
	state.Put(keyConfig, c)
	state.Put(keyDriver, d)
	state.Put(keyUI, ui)
	state.Put("hook", hook)

	runner := commonsteps.NewRunner(b.steps(now(), now), c.PackerConfig, ui)
	runner.Run(ctx, state)
	if err, ok := state.GetOk("error"); ok {
		return nil, err.(error)
	}
	if _, ok := state.GetOk(multistep.StateCancelled); ok {
		return nil, errors.New("build was cancelled")
	}
	if _, ok := state.GetOk(multistep.StateHalted); ok {
		return nil, errors.New("build was halted")
	}
	img, ok := state.Get(keyOutput).(string)
	if !ok {
		return nil, errNoImage
	}
	m, _ := state.Get(keyManifestData).(manifest.Manifest)
	sbomPath, _ := state.Get(keySBOM).(string)
	return &Artifact{dir: c.OutputDirectory, image: img, manifest: state.Get(keyManifest).(string), sbom: sbomPath, m: m, state: map[string]any{
		"accelerator": state.Get(keyAccel),
	}}, nil
}

// steps lists the build's steps: SSH provisioning, or Ignition for Fedora
// CoreOS.
func (b *Builder) steps(start time.Time, now func() time.Time) []multistep.Step {
	c := &b.config
	steps := []multistep.Step{&stepPrepareWorkDir{}}
	if isURL(c.SourceImage) {
		steps = append(steps, &commonsteps.StepDownload{
			Checksum: c.SourceImageChecksum, Description: "source image", ResultKey: keySource,
			Url: []string{c.SourceImage}, Extension: "img",
		})
	} else {
		steps = append(steps, &stepVerifySource{path: c.SourceImage, checksum: c.SourceImageChecksum})
	}
	steps = append(steps, &stepCreateOverlay{size: c.DiskSize})
	if c.IgnitionRecipe != "" {
		steps = append(steps,
			&stepWriteIgnition{recipe: c.IgnitionRecipe, firstboot: c.FirstbootBinary},
			&stepRunMachine{config: c},
			&stepWaitPowerOff{timeout: c.ProvisioningTimeout},
		)
	} else {
		steps = append(steps,
			&communicator.StepSSHKeyGen{CommConf: &c.Comm, SSHTemporaryKeyPair: c.Comm.SSHTemporaryKeyPair},
			&stepCreateSeed{user: c.Comm.SSHUsername, publicKey: func() []byte { return c.Comm.SSHPublicKey }, hostname: c.VMName},
			&stepCreateStageDisk{size: c.stageDiskBytes},
			&stepRunMachine{config: c, forward: true},
			&communicator.StepConnect{
				Config:    &c.Comm,
				Host:      func(multistep.StateBag) (string, error) { return c.Comm.SSHHost, nil },
				SSHConfig: c.Comm.SSHConfigFunc(),
				SSHPort:   func(state multistep.StateBag) (int, error) { return state.Get(keySSHPort).(int), nil },
			},
			&stepWaitCloudInit{},
			&commonsteps.StepProvision{},
			&stepSealShutdown{user: c.Comm.SSHUsername, skip: c.SkipSeal, timeout: c.ShutdownTimeout},
		)
	}
	steps = append(steps,
		&stepConvertImage{config: c},
		&stepWriteManifest{config: c, start: start, now: now},
	)
	return steps
}
