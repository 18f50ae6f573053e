// Package recipes is `kubebake recipes`: list the built-in recipes.
package recipes

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/recipes"
)

// Info describes one built-in recipe.
type Info struct {
	Name        string `json:"name"`
	Distro      string `json:"distro"`
	Release     string `json:"release"`
	Runtime     string `json:"runtime"`
	Kubernetes  string `json:"kubernetes"`
	Source      string `json:"source"`
	Description string `json:"description"`
}

// NewCommand returns the recipes command.
func NewCommand(stdout io.Writer) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "recipes",
		Short:   "List the built-in recipes",
		Example: "  kubebake recipes\n  kubebake recipes -o json | jq -r '.[].name'",
		Args:    cli.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cli.CheckOutput(output, false); err != nil {
				return err
			}
			return Run(stdout, output)
		},
	}
	cli.OutputFlag(cmd, &output)
	return cmd
}

// List loads every built-in recipe.
func List() ([]Info, error) {
	var out []Info
	for _, name := range recipes.BuiltinNames() {
		l, err := recipes.Load(name)
		if err != nil {
			return nil, fmt.Errorf("built-in recipe %s: %w", name, err)
		}
		r := l.Recipe
		out = append(out, Info{
			Name: name, Distro: r.Base.Distro, Release: r.Base.Release, Runtime: r.Runtime.Kind,
			Kubernetes: r.Kubernetes.Version, Source: r.Kubernetes.Source, Description: r.Metadata.Description,
		})
	}
	return out, nil
}

// Run prints the list in output (text, json or yaml).
func Run(stdout io.Writer, output string) error {
	list, err := List()
	if err != nil {
		return err
	}
	return cli.Print(stdout, output, list, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDISTRO\tRUNTIME\tKUBERNETES\tSOURCE")
		for _, i := range list {
			fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\n", i.Name, i.Distro, i.Release, i.Runtime, i.Kubernetes, i.Source)
		}
		return tw.Flush()
	})
}
