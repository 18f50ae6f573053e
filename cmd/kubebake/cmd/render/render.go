// Package render is `kubebake render`: write a recipe's plan to a directory.
package render

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kubebake/kubebake/internal/cli"
	plan "github.com/kubebake/kubebake/recipes/render"
)

type flags struct {
	out string
}

// NewCommand returns the render command.
func NewCommand(stdout, stderr io.Writer) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "render RECIPE -o DIR",
		Short: "Render a recipe to its plan: files, step scripts, plan.json (and Ignition for Fedora CoreOS)",
		Long: "render turns a recipe into DIR/plan.json, DIR/rootfs/ (every file at its absolute path),\n" +
			"DIR/steps/NN-name.sh (one bash script per idempotent step) and, for Fedora CoreOS,\n" +
			"DIR/config.bu and DIR/config.ign. DIR is replaced whole, never half-written.",
		Example:           "  kubebake render ubuntu-24.04-containerd -o out/plan\n  kubebake render my-recipe.yaml -o out/plan",
		Args:              cli.ExactArgs(1),
		ValidArgsFunction: cli.CompleteRecipes,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.out == "" {
				return cli.Usage(fmt.Errorf("render: -o DIR is required"))
			}
			return Run(stdout, stderr, args[0], f.out)
		},
	}
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "directory to write the plan to (replaced)")
	return cmd
}

// Run renders ref into dir.
func Run(stdout, stderr io.Writer, ref, dir string) error {
	p, l, err := plan.Load(ref)
	if err != nil {
		if l != nil && l.Report.IsFatal() {
			fmt.Fprint(stderr, l.Report.String())
			return &cli.ExitError{Code: 1, Err: fmt.Errorf("%s is not valid; nothing written", l.Source)}
		}
		return err
	}
	for _, w := range l.Report.Warnings() {
		fmt.Fprintln(stderr, w.String())
	}
	if err := plan.Write(p, dir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rendered %s (%s %s, Kubernetes %s, %s) to %s: %d steps, %d files, %d images\n",
		p.Recipe, p.Base.Distro, p.Base.Release, p.Kubernetes.Version, p.Runtime.Kind, dir, len(p.Steps), len(p.Files), len(p.Images))
	return nil
}
