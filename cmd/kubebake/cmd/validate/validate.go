// Package validate is `kubebake validate`: report every problem of a recipe.
package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/recipes"
)

type flags struct {
	output string
}

// NewCommand returns the validate command.
func NewCommand(stdout, stderr io.Writer) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "validate RECIPE",
		Short: "Report every problem of a recipe (a file or a built-in name)",
		Long: "validate decodes a recipe strictly, applies defaults and reports every error and warning\n" +
			"as FILE:LINE:COL: field.path: message. It exits 0 when the recipe is valid, 1 when it is\n" +
			"not, 2 for usage errors.",
		Example:           "  kubebake validate recipe.yaml\n  kubebake validate ubuntu-24.04-containerd -o json",
		Args:              cli.ExactArgs(1),
		ValidArgsFunction: cli.CompleteRecipes,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cli.CheckOutput(f.output, "text", "json"); err != nil {
				return err
			}
			return Run(stdout, stderr, args[0], f.output)
		},
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cli.CompleteValues("text", "json"))
	return cmd
}

// Result is the JSON form of a validation.
type Result struct {
	Recipe   string          `json:"recipe"`
	Valid    bool            `json:"valid"`
	Errors   []recipes.Entry `json:"errors"`
	Warnings []recipes.Entry `json:"warnings"`
}

// Run validates ref and prints the report; an invalid recipe ends with exit
// code 1.
func Run(stdout, stderr io.Writer, ref, output string) error {
	l, err := recipes.Load(ref)
	var invalid *recipes.InvalidError
	if err != nil && !errors.As(err, &invalid) {
		return err
	}
	res := Result{Recipe: ref, Valid: err == nil, Errors: l.Report.Errors(), Warnings: l.Report.Warnings()}
	if res.Errors == nil {
		res.Errors = []recipes.Entry{}
	}
	if res.Warnings == nil {
		res.Warnings = []recipes.Entry{}
	}
	if output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		fmt.Fprint(stdout, l.Report.String())
		if res.Valid {
			fmt.Fprintf(stdout, "%s: valid (%d warnings)\n", l.Source, len(res.Warnings))
		} else {
			fmt.Fprintf(stderr, "%s: %d errors, %d warnings\n", l.Source, len(res.Errors), len(res.Warnings))
		}
	}
	if !res.Valid {
		return &cli.ExitError{Code: 1}
	}
	return nil
}
