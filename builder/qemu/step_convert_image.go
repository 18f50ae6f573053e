package qemu

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/internal/diskformat"
)

// stepConvertImage writes the overlay's whole image into the output
// directory with qemu-img convert (for ova, packed with its descriptor,
// which names the guest OS the provisioner reported), through a temp file
// renamed into place, so a failed or cancelled build leaves no partial
// image.
type stepConvertImage struct {
	config *Config
	tmp    string
}

func (s *stepConvertImage) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	c := s.config
	d := state.Get(keyDriver).(Driver)
	ui := state.Get(keyUI).(packersdk.Ui)
	if err := os.MkdirAll(c.OutputDirectory, 0o755); err != nil {
		return haltf(state, "output_directory: %w", err)
	}
	f, _ := diskformat.Lookup(c.Format) // validated
	dst := filepath.Join(c.OutputDirectory, c.VMName+"."+f.Ext)
	s.tmp = filepath.Join(c.OutputDirectory, "."+c.VMName+"."+f.Ext+".tmp")
	start := time.Now()
	comp := c.compression()
	desc := c.Format
	if written := f.Compression(comp); written != diskformat.CompressionNone {
		desc += ", " + string(written) + "-compressed"
	}
	ui.Say(fmt.Sprintf("Writing %s (%s)", dst, desc))
	convert := func(ctx context.Context, dst string) error {
		args, err := f.ConvertArgs("qcow2", state.Get(keyOverlay).(string), comp, dst)
		if err != nil {
			return err
		}
		_, err = d.QemuImg(ctx, args...)
		return err
	}
	machine := diskformat.Machine{Name: c.VMName}
	if ii, ok := state.Get(keyImageInfo).(api.ImageInfo); ok {
		machine.Distro, machine.Release, machine.Arch = ii.Distro, ii.Release, ii.Arch
	}
	if err := f.Write(ctx, convert, d.QemuImg, s.tmp, machine); err != nil {
		return haltf(state, "write the image: %w", err)
	}
	if err := os.Rename(s.tmp, dst); err != nil {
		return halt(state, err)
	}
	s.tmp = ""
	ui.Say(fmt.Sprintf("Wrote %s in %s", dst, time.Since(start).Round(time.Second)))
	state.Put(keyOutput, dst)
	return multistep.ActionContinue
}

func (s *stepConvertImage) Cleanup(multistep.StateBag) {
	if s.tmp != "" {
		os.Remove(s.tmp)
	}
}
