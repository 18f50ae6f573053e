// Package render is `kubebake render`: write a recipe's plan to a directory.
package render

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/kubebake/kubebake/internal/cli"
	plan "github.com/kubebake/kubebake/recipes/render"
)

type flags struct {
	dest, output string
}

// NewCommand returns the render command. Warnings and log lines go to
// stderr and log, the result to stdout.
func NewCommand(stdout, stderr io.Writer, log *slog.Logger) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "render RECIPE --dest DIR",
		Short: "Render a recipe to its plan: files, step scripts, plan.json (and Ignition for Fedora CoreOS)",
		Long: "render turns a recipe into DIR/plan.json, DIR/rootfs/ (every file at its absolute path),\n" +
			"DIR/steps/NN-name.sh (one bash script per idempotent step) and, for Fedora CoreOS,\n" +
			"DIR/config.bu and DIR/config.ign. DIR is replaced whole, never half-written. It reports\n" +
			"the plan (digest, counts of steps, files and images) as text, or with -o json or yaml.",
		Example: "  kubebake render ubuntu-24.04-containerd --dest out/plan\n" +
			"  kubebake render my-recipe.yaml -d out/plan -o json | jq -r .planDigest",
		Args:              cli.ExactArgs(1),
		ValidArgsFunction: cli.CompleteRecipes,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cli.CheckOutput(f.output, true); err != nil {
				return err
			}
			if f.dest == "" {
				return cli.Usage(fmt.Errorf("render: --dest DIR is required"))
			}
			res, err := Run(stderr, log, args[0], f.dest)
			if err != nil {
				return err
			}
			return cli.Print(stdout, f.output, res, res.text)
		},
	}
	cli.DestFlag(cmd, &f.dest, "", "directory to write the plan to (replaced)")
	cli.OutputFlag(cmd, &f.output)
	return cmd
}

// Result is what render reports.
type Result struct {
	Recipe            string `json:"recipe"`
	Distro            string `json:"distro"`
	Release           string `json:"release"`
	KubernetesVersion string `json:"kubernetesVersion"`
	Runtime           string `json:"runtime"`
	// Dir is the plan's directory.
	Dir        string `json:"dir"`
	PlanDigest string `json:"planDigest"`
	Steps      int    `json:"steps"`
	Files      int    `json:"files"`
	Images     int    `json:"images"`
}

func (r *Result) text(w io.Writer) error {
	_, err := fmt.Fprintf(w, "rendered %s (%s %s, Kubernetes %s, %s) to %s: %d steps, %d files, %d images\n",
		r.Recipe, r.Distro, r.Release, r.KubernetesVersion, r.Runtime, r.Dir, r.Steps, r.Files, r.Images)
	return err
}

// Run renders ref into dir; the recipe's warnings go to stderr.
func Run(stderr io.Writer, log *slog.Logger, ref, dir string) (*Result, error) {
	p, l, err := plan.Load(ref)
	if err != nil {
		if l != nil && l.Report.IsFatal() {
			fmt.Fprint(stderr, l.Report.String())
			return nil, &cli.ExitError{Code: 1, Err: fmt.Errorf("%s is not valid; nothing written", l.Source)}
		}
		return nil, err
	}
	for _, w := range l.Report.Warnings() {
		fmt.Fprintln(stderr, w.String())
	}
	res := &Result{
		Recipe: p.Recipe, Distro: p.Base.Distro, Release: p.Base.Release, KubernetesVersion: p.Kubernetes.Version,
		Runtime: p.Runtime.Kind, Dir: dir, PlanDigest: p.Digest(), Steps: len(p.Steps), Files: len(p.Files), Images: len(p.Images),
	}
	log.Debug("rendered", "source", l.Source, "planDigest", res.PlanDigest)
	if err := plan.Write(p, dir); err != nil {
		return nil, err
	}
	log.Debug("wrote the plan", "dir", dir)
	return res, nil
}
