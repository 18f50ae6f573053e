// Package version is `kubebake version`.
package version

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/recipes"
)

// Info is what version reports, like `kubectl version -o json`.
type Info struct {
	// Version is kubebake's version.
	Version string `json:"version"`
	// GoVersion is the Go release kubebake was built with.
	GoVersion string `json:"goVersion"`
	// Platform is OS/ARCH.
	Platform string `json:"platform"`
	// RecipesAPIVersion is the recipes' apiVersion.
	RecipesAPIVersion string `json:"recipesAPIVersion"`
	// DefaultKubernetesVersion is the newest Kubernetes kubebake knows,
	// the recipes' default.
	DefaultKubernetesVersion string `json:"defaultKubernetesVersion"`
}

// NewInfo describes this kubebake.
func NewInfo(version string) Info {
	return Info{
		Version: version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
		RecipesAPIVersion: recipes.APIVersion, DefaultKubernetesVersion: recipes.DefaultKubernetesVersion(),
	}
}

// NewCommand returns the version command.
func NewCommand(version string, stdout io.Writer) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print kubebake's version and the newest Kubernetes it knows",
		Example: "  kubebake version\n  kubebake version -o json",
		Args:    cli.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cli.CheckOutput(output, false); err != nil {
				return err
			}
			info := NewInfo(version)
			return cli.Print(stdout, output, info, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "kubebake %s (recipes %s, default Kubernetes %s)\n",
					info.Version, info.RecipesAPIVersion, info.DefaultKubernetesVersion)
				return err
			})
		},
	}
	cli.OutputFlag(cmd, &output)
	return cmd
}
