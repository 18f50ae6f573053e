// Package kubebake is the kubebake Packer provisioner: it renders a recipe
// to a plan (exactly what `kubebake render` writes), stages the plan's
// files, step scripts and inputs (through the stage disk the kubebake-qemu
// builder attaches, or else the communicator), runs the steps in
// order as root with their names and streamed output, stops at the first
// failing step with its output tail, and ends with the node checks
// `kubebake test` runs, so a broken image fails the build.
package kubebake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/kubebake/kubebake/internal/apply"
	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// Provisioner applies a kubebake recipe to the machine Packer builds.
type Provisioner struct {
	config Config
	plan   *render.Plan
}

// ConfigSpec describes the configuration for HCL2.
func (p *Provisioner) ConfigSpec() hcldec.ObjectSpec { return p.config.FlatMapstructure().HCL2Spec() }

// Prepare decodes, defaults and validates the configuration, and renders
// the plan; every problem is reported at once.
func (p *Provisioner) Prepare(raws ...interface{}) error {
	err := config.Decode(&p.config, &config.DecodeOpts{
		PluginType:         "kubebake",
		Interpolate:        true,
		InterpolateContext: &p.config.ctx,
		InterpolateFilter:  &interpolate.RenderFilter{Exclude: []string{"execute_command"}},
	}, raws...)
	if err != nil {
		return err
	}
	c := &p.config
	if c.ExecuteCommand == "" {
		c.ExecuteCommand = DefaultExecuteCommand
	}
	if c.StagingDir == "" {
		c.StagingDir = render.Stage
	}
	if c.RemoteTempDir == "" {
		c.RemoteTempDir = "/tmp"
	}
	var errs *packersdk.MultiError
	add := func(err error) { errs = packersdk.MultiErrorAppend(errs, err) }
	if !strings.Contains(c.ExecuteCommand, "{{.Path}}") && !strings.Contains(c.ExecuteCommand, "{{ .Path }}") {
		add(errors.New("execute_command: must run the script {{.Path}}"))
	}
	if !strings.HasPrefix(c.StagingDir, "/") || c.StagingDir == "/" {
		add(fmt.Errorf("staging_dir: %q must be an absolute directory other than /", c.StagingDir))
	}
	if !strings.HasPrefix(c.RemoteTempDir, "/") {
		add(fmt.Errorf("remote_temp_dir: %q must be absolute", c.RemoteTempDir))
	}
	if c.FirstbootBinary != "" {
		if fi, err := os.Stat(c.FirstbootBinary); err != nil || !fi.Mode().IsRegular() {
			add(fmt.Errorf("firstboot_binary: %q is not a readable file", c.FirstbootBinary))
		}
	}
	for _, d := range []struct{ field, dir string }{
		{"kubernetes_binaries_dir", c.KubernetesBinariesDir}, {"cri_dockerd_dir", c.CriDockerdDir}, {"runtime_dir", c.RuntimeDir},
	} {
		if d.dir == "" {
			continue
		}
		if fi, err := os.Stat(d.dir); err != nil || !fi.IsDir() {
			add(fmt.Errorf("%s: %q is not a directory", d.field, d.dir))
		}
	}
	if c.Recipe == "" {
		add(errors.New("recipe: required (a built-in name such as debian-13-containerd, or a recipe file)"))
	} else if plan, rerrs := c.render(); len(rerrs) > 0 {
		for _, e := range rerrs {
			add(e)
		}
	} else {
		p.plan = plan
	}
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

// render loads the recipe with the overrides and renders its plan; the
// errors name the recipe file and field, or the override.
func (c *Config) render() (*render.Plan, []error) {
	overlay, err := c.overlay()
	if err != nil {
		return nil, []error{err}
	}
	plan, l, err := render.Load(c.Recipe, overlay)
	if err != nil && l != nil && l.Report.IsFatal() {
		var errs []error
		for _, e := range l.Report.Errors() {
			errs = append(errs, fmt.Errorf("recipe %s", c.describe(e)))
		}
		return nil, errs
	}
	if err != nil && l == nil {
		return nil, []error{fmt.Errorf("recipe: %w", err)}
	}
	if err != nil {
		return nil, []error{fmt.Errorf("recipe %s: render: %w", c.Recipe, err)}
	}
	if plan.Family == recipes.FamilyFCOS {
		return nil, []error{fmt.Errorf("recipe %s: Fedora CoreOS is provisioned by Ignition at its first boot, not over a communicator: bake it with the kubebake-qemu builder", c.Recipe)}
	}
	var errs []error
	for _, in := range plan.Inputs {
		if in.HostPath == "" {
			continue
		}
		if _, err := os.Stat(in.HostPath); err != nil {
			errs = append(errs, fmt.Errorf("%s: the recipe needs %s from this machine: %w", inputField(in.Name), in.Name, err))
		}
	}
	return plan, errs
}

// inputField names the setting that supplies a plan input.
func inputField(name string) string {
	switch {
	case name == "cri-dockerd":
		return "cri_dockerd_dir"
	case name == "crio" || name == "pinns":
		return "runtime_dir"
	case strings.HasPrefix(name, "image-archive-"):
		return "the recipe's images.archives"
	case name == "kubernetes-repository-key":
		return "the recipe's kubernetes.packages.key.file"
	}
	return "kubernetes_binaries_dir"
}

// describe prints a report entry with the override's HCL name when the
// field came from an override.
func (c *Config) describe(e recipes.Entry) string {
	if e.Pos.File == "overrides" || c.overridden(e.Path) {
		return fmt.Sprintf("%s: %s", c.hclName(e.Path), e.Message)
	}
	return e.String()
}

// Provision applies the plan to the machine behind comm. When the builder
// attached a stage disk (generatedData's apply.StageDiskVar), the plan's
// stage is written into it and the machine unpacks it from there.
func (p *Provisioner) Provision(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, generatedData map[string]interface{}) error {
	if p.plan == nil {
		return errors.New("kubebake: Prepare did not render a plan")
	}
	// The plan is written when the build runs, not when Prepare validates.
	if p.config.PlanDir != "" {
		if err := render.Write(p.plan, p.config.PlanDir); err != nil {
			return fmt.Errorf("kubebake: plan_dir: %w", err)
		}
	}
	out := newUIWriter(ui)
	defer out.Flush()
	t := &commTarget{comm: comm, tmp: p.config.RemoteTempDir, command: p.executeCommand}
	ui.Say(fmt.Sprintf("kubebake: recipe %s (%s, Kubernetes %s, %s): %d steps",
		p.plan.Recipe, p.plan.Family, p.plan.Kubernetes.Version, p.plan.Runtime.Kind, len(p.plan.Steps)))
	inputs, cleanup, err := p.inputs(ctx, t)
	if err != nil {
		return err
	}
	defer cleanup()
	onDisk, err := p.stageOnDisk(ui, generatedData, inputs)
	if err != nil {
		return fmt.Errorf("kubebake: %w", err)
	}
	checked := p.config.SkipChecks
	checks := func(ctx context.Context, step string) error {
		if checked || step != "seal" {
			return nil
		}
		checked = true
		return runChecks(ctx, t, p.plan, out)
	}
	if _, err := apply.Apply(ctx, t, p.plan, apply.Options{
		Stage: p.config.StagingDir, Inputs: inputs, Progress: out, BeforeStep: checks, StageDisk: onDisk,
	}); err != nil {
		return fmt.Errorf("kubebake: %w", err)
	}
	if !checked {
		if err := runChecks(ctx, t, p.plan, out); err != nil {
			return fmt.Errorf("kubebake: %w", err)
		}
	}
	return nil
}

// executeCommand renders execute_command for a script path.
func (p *Provisioner) executeCommand(path string) (string, error) {
	ictx := p.config.ctx
	ictx.Data = &struct{ Path string }{Path: path}
	cmd, err := interpolate.Render(p.config.ExecuteCommand, &ictx)
	if err != nil {
		return "", fmt.Errorf("execute_command: %w", err)
	}
	return cmd, nil
}

// inputs resolves the plan's inputs to local files: kubebake-firstboot
// from firstboot_binary or the binary embedded for the machine's
// architecture, the rest from the plan.
func (p *Provisioner) inputs(ctx context.Context, t *commTarget) (map[string]string, func(), error) {
	noop := func() {}
	if p.config.FirstbootBinary != "" {
		return map[string]string{"kubebake-firstboot": p.config.FirstbootBinary}, noop, nil
	}
	needs := false
	for _, in := range p.plan.Inputs {
		needs = needs || in.Name == "kubebake-firstboot"
	}
	if !needs {
		return nil, noop, nil
	}
	bin, err := firstbootFor(ctx, t)
	if err != nil {
		return nil, noop, err
	}
	dir, err := os.MkdirTemp("", "kubebake-firstboot-")
	if err != nil {
		return nil, noop, err
	}
	f := filepath.Join(dir, "kubebake-firstboot")
	if err := os.WriteFile(f, bin, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, noop, err
	}
	return map[string]string{"kubebake-firstboot": f}, func() { os.RemoveAll(dir) }, nil
}
