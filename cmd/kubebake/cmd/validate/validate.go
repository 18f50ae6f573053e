// Package validate is `kubebake validate`: report every problem of a recipe.
package validate

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/internal/userdata"
	"github.com/kubebake/kubebake/recipes"
)

type flags struct {
	output, kubernetes string
}

// NewCommand returns the validate command.
func NewCommand(stdout, stderr io.Writer) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "validate RECIPE|NODECONFIG|USERDATA",
		Short: "Report every problem of a recipe (a file or a built-in name), a NodeConfig or the user data that carries one",
		Long: "validate decodes a recipe strictly, applies defaults and reports every error and warning\n" +
			"as FILE:LINE:COL: field.path: message. A file that declares a NodeConfig\n" +
			"(kubebake.dev/v1alpha1) is checked as kubebake-firstboot would check it on the node, before\n" +
			"it reaches a VM; so is user data that carries one (a #cloud-config, MIME multipart, gzipped\n" +
			"or not, an Ignition or Butane config), read as the node reads it. It exits 0 when the\n" +
			"document is valid, 1 when it is not, 2 for usage errors; -o json or yaml prints the result\n" +
			"as one document.",
		Example:           "  kubebake validate recipe.yaml\n  kubebake validate ubuntu-24.04-containerd -o json\n  kubebake validate node.yaml -o yaml\n  kubebake validate user-data",
		Args:              cli.ExactArgs(1),
		ValidArgsFunction: cli.CompleteRecipes,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cli.CheckOutput(f.output, false); err != nil {
				return err
			}
			return run(stdout, stderr, args[0], f.output, f.kubernetes)
		},
	}
	cli.OutputFlag(cmd, &f.output)
	cmd.Flags().StringVar(&f.kubernetes, "kubernetes-version", recipes.DefaultKubernetesVersion(),
		"for a NodeConfig: the image's Kubernetes version, used where the NodeConfig leaves it to the image")
	return cmd
}

// Result is the JSON and YAML form of a validation.
type Result struct {
	Recipe   string          `json:"recipe"`
	Valid    bool            `json:"valid"`
	Errors   []recipes.Entry `json:"errors"`
	Warnings []recipes.Entry `json:"warnings"`
}

// Run validates ref and prints the report; an invalid recipe ends with exit
// code 1.
func Run(stdout, stderr io.Writer, ref, output string) error {
	return run(stdout, stderr, ref, output, recipes.DefaultKubernetesVersion())
}

func run(stdout, stderr io.Writer, ref, output, kubernetesVersion string) error {
	l, err := load(ref, kubernetesVersion)
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
	err = cli.Print(stdout, output, res, func(w io.Writer) error {
		fmt.Fprint(w, l.Report.String())
		if res.Valid {
			_, err := fmt.Fprintf(w, "%s: valid (%d warnings)\n", l.Source, len(res.Warnings))
			return err
		}
		fmt.Fprintf(stderr, "%s: %d errors, %d warnings\n", l.Source, len(res.Errors), len(res.Warnings))
		return nil
	})
	if err != nil {
		return err
	}
	if !res.Valid {
		return &cli.ExitError{Code: 1}
	}
	return nil
}

// load reads ref as a recipe, or, when it is a file that declares a
// NodeConfig, checks it as the node would.
func load(ref, kubernetesVersion string) (*recipes.Loaded, error) {
	if fi, err := os.Stat(ref); err == nil && fi.Mode().IsRegular() && fi.Size() <= nodeconfig.MaxSize {
		data, err := os.ReadFile(ref)
		if err != nil {
			return nil, err
		}
		if nodeconfig.DeclaresKind(data) && !userdata.IsWrapped(data) {
			return checked(ref, userdata.CheckReport(ref, data, kubernetesVersion))
		}
		// User data is found and checked in one pass; a bare document that
		// carries no NodeConfig is a recipe.
		rep, _, err := userdata.CheckUserData(ref, data, kubernetesVersion)
		switch {
		case err == nil:
			return checked(ref, rep)
		case userdata.IsWrapped(data) || !errors.Is(err, userdata.ErrNoNodeConfig):
			return nil, err
		}
	}
	return recipes.Load(ref)
}

// checked is a NodeConfig's report as a loaded document: invalid when it
// has errors.
func checked(ref string, rep recipes.Report) (*recipes.Loaded, error) {
	l := &recipes.Loaded{Report: rep, Source: ref}
	if rep.IsFatal() {
		return l, &recipes.InvalidError{Report: rep}
	}
	return l, nil
}
