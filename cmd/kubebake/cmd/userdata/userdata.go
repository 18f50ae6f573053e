// Package userdata is `kubebake userdata`: print the user data that boots a
// kubebake image into the node a NodeConfig describes.
package userdata

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/internal/userdata"
	"github.com/kubebake/kubebake/recipes"
)

type flags struct {
	format     string
	kubernetes string
	validate   bool
}

// NewCommand returns the userdata command.
func NewCommand(stdout io.Writer) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "userdata NODECONFIG | userdata --validate USERDATA",
		Short: "Print the user data that boots a kubebake image into the node a NodeConfig describes",
		Long: "userdata validates a NodeConfig (kubebake.dev/v1alpha1) and wraps it as a #cloud-config\n" +
			"(write_files /etc/kubebake/node.yaml, 0600), a MIME multipart document with a part of type\n" +
			"application/vnd.kubebake.node+yaml, a Butane config or Ignition for Fedora CoreOS.\n" +
			"With --validate it checks user data instead, in any of those forms or gzipped, before it\n" +
			"reaches a VM: it finds the NodeConfig as kubebake-firstboot does and reports every problem\n" +
			"at FILE:LINE:COL (exit 1 when there is one, or when the user data carries no NodeConfig).",
		Example: "  kubebake userdata node.yaml > user-data\n  kubebake userdata node.yaml --format ignition > config.ign\n" +
			"  kubebake userdata --validate user-data",
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.validate {
				if cmd.Flags().Changed("format") {
					return cli.Usage(fmt.Errorf("--format and --validate: --validate reads user data in any format"))
				}
				return Validate(stdout, cmd.ErrOrStderr(), args[0], f.kubernetes)
			}
			return Run(stdout, args[0], f.format, f.kubernetes)
		},
	}
	cmd.Flags().BoolVar(&f.validate, "validate", false, "check USERDATA (what this command prints, or user data written by hand) instead of generating it")
	cmd.Flags().StringVar(&f.format, "format", "cloud-config", "output format: "+strings.Join(userdata.Formats(), ", "))
	cmd.Flags().StringVar(&f.kubernetes, "kubernetes-version", recipes.DefaultKubernetesVersion(),
		"the image's Kubernetes version, used to validate a NodeConfig that leaves it to the image")
	return cmd
}

// Run validates the NodeConfig in path and prints it in format.
func Run(stdout io.Writer, path, format, imageVersion string) error {
	valid := false
	for _, f := range userdata.Formats() {
		valid = valid || f == format
	}
	if !valid {
		return cli.Usage(fmt.Errorf("unknown format %q (want %s)", format, strings.Join(userdata.Formats(), ", ")))
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read NodeConfig: %w", err)
	}
	if rep := userdata.CheckReport(path, doc, imageVersion); rep.IsFatal() {
		return fmt.Errorf("%s is not a valid NodeConfig:\n%s", path, strings.TrimRight(rep.String(), "\n"))
	}
	out, err := userdata.Generate(doc, format)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}

// Validate checks the user data in path as the node would read it and
// prints its problems; invalid user data ends with exit code 1.
func Validate(stdout, stderr io.Writer, path, imageVersion string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read user data: %w", err)
	}
	rep, found, err := userdata.CheckUserData(path, data, imageVersion)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, rep.String())
	if rep.IsFatal() {
		fmt.Fprintf(stderr, "%s: the NodeConfig in %s is not valid: %d errors\n", path, found.Where, len(rep.Errors()))
		return &cli.ExitError{Code: 1}
	}
	_, err = fmt.Fprintf(stdout, "%s: valid (the NodeConfig in %s)\n", path, found.Where)
	return err
}
