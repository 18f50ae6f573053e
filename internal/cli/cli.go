// Package cli holds what kubebake's subcommands share: exit codes,
// argument checks, the -o output formats (text, json, yaml: results on
// standard output), and the logger and host command runner that -v tunes
// (progress and logs on standard error).
package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubebake/kubebake/recipes"
)

// ExitError ends the command with Code; Err, when set, is printed.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// Usage marks err as a usage error (exit code 2).
func Usage(err error) error { return usageError{err} }

// IsUsage reports whether err is a usage error: marked by Usage, or one of
// cobra's own (unknown command or flag).
func IsUsage(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag")
}

// ExactArgs is cobra.ExactArgs with a usage error.
func ExactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return Usage(fmt.Errorf("%s: %w (see --help)", cmd.CommandPath(), err))
		}
		return nil
	}
}

// NoArgs is cobra.NoArgs with a usage error.
func NoArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return Usage(fmt.Errorf("%s: %w", cmd.CommandPath(), err))
	}
	return nil
}

// CompleteRecipes completes a RECIPE argument: the built-in recipe names,
// then recipe files.
func CompleteRecipes(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return recipes.BuiltinNames(), cobra.ShellCompDirectiveDefault
}

// CompleteValues completes a flag from a fixed list of values.
func CompleteValues(values ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
}
