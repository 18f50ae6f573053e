// Package version is `kubebake version`.
package version

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/recipes"
)

// NewCommand returns the version command.
func NewCommand(version string, stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print kubebake's version and the newest Kubernetes it knows",
		Example: "  kubebake version",
		Args:    cli.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(stdout, "kubebake %s (recipes %s, default Kubernetes %s)\n",
				version, recipes.APIVersion, recipes.DefaultKubernetesVersion())
			return err
		},
	}
}
