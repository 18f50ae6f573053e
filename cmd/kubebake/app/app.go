// Package app is the kubebake command line: Main parses arguments, runs the
// subcommand and maps errors to exit codes (0 ok, 1 failed, 2 usage, 130
// and 143 after SIGINT and SIGTERM).
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/kubebake/kubebake/cmd/kubebake/cmd/base"
	buildcmd "github.com/kubebake/kubebake/cmd/kubebake/cmd/build"
	recipescmd "github.com/kubebake/kubebake/cmd/kubebake/cmd/recipes"
	"github.com/kubebake/kubebake/cmd/kubebake/cmd/render"
	"github.com/kubebake/kubebake/cmd/kubebake/cmd/seed"
	testcmd "github.com/kubebake/kubebake/cmd/kubebake/cmd/test"
	"github.com/kubebake/kubebake/cmd/kubebake/cmd/userdata"
	"github.com/kubebake/kubebake/cmd/kubebake/cmd/validate"
	versioncmd "github.com/kubebake/kubebake/cmd/kubebake/cmd/version"
	"github.com/kubebake/kubebake/internal/cli"
)

// Main runs kubebake with the process's arguments and exits. SIGINT and
// SIGTERM cancel the command's context, which reaches every child process
// (QEMU, debootstrap, the steps): the command stops them and removes its
// temporary files, mounts and loop devices and partial outputs on its way
// out, and kubebake exits 128 plus the signal's number. A second signal
// ends kubebake at once.
func Main(version string) {
	ctx, caught := signalContext()
	code := RunContext(ctx, version, os.Stdout, os.Stderr, os.Args[1:])
	if s := caught(); s != 0 {
		fmt.Fprintf(os.Stderr, "kubebake: stopped by %s\n", unix.SignalName(s))
		code = 128 + int(s)
	}
	os.Exit(code)
}

// signalContext is cancelled by the first SIGINT or SIGTERM; caught tells
// which one came (0 for none).
func signalContext() (context.Context, func() syscall.Signal) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var got atomic.Int32
	go func() {
		s := <-sigs
		got.Store(int32(s.(syscall.Signal)))
		signal.Stop(sigs) // a second signal ends the process
		cancel()
	}()
	return ctx, func() syscall.Signal { return syscall.Signal(got.Load()) }
}

// Run runs kubebake with args and returns the exit code. Errors are printed
// once, here.
func Run(version string, stdout, stderr io.Writer, args []string) int {
	return RunContext(context.Background(), version, stdout, stderr, args)
}

// RunContext is Run under ctx: a cancelled ctx stops the command.
func RunContext(ctx context.Context, version string, stdout, stderr io.Writer, args []string) int {
	cmd := NewCommand(version, stdout, stderr)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var exit *cli.ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintf(stderr, "kubebake: %v\n", exit.Err)
		}
		return exit.Code
	}
	fmt.Fprintf(stderr, "kubebake: %v\n", err)
	if cli.IsUsage(err) {
		return 2
	}
	return 1
}

// NewCommand builds the root command. Results go to stdout; progress and
// log lines to stderr, through one logger whose level the persistent
// -v/--verbose count sets once the flags are parsed.
func NewCommand(version string, stdout, stderr io.Writer) *cobra.Command {
	level := new(slog.LevelVar)
	log := cli.NewLogger(stderr, level)
	var verbosity int
	cmd := &cobra.Command{
		Use:   "kubebake",
		Short: "Bake Kubernetes node images from declarative recipes",
		Long: "kubebake bakes images for kubeadm clusters: a recipe says what a node image holds\n" +
			"(distro, Kubernetes, runtime, kernel settings, images); kubebake renders it to files and\n" +
			"idempotent steps, bakes it with QEMU or Packer, and tests the result.",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(*cobra.Command, []string) {
			level.Set(cli.Level(verbosity))
		},
	}
	cmd.PersistentFlags().CountVarP(&verbosity, "verbose", "v",
		"more detail on standard error: -v logs every host command with its duration (base: and shows its output), -vv shows every command's output")
	cmd.SetVersionTemplate("kubebake {{.Version}}\n")
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cli.Usage(err) })
	cmd.AddCommand(
		render.NewCommand(stdout, stderr, log),
		validate.NewCommand(stdout, stderr),
		recipescmd.NewCommand(stdout),
		userdata.NewCommand(stdout),
		seed.NewCommand(stdout, log),
		base.NewCommand(stdout, stderr, log),
		buildcmd.NewCommand(version, stdout, stderr, log),
		testcmd.NewCommand(stdout, stderr, log),
		versioncmd.NewCommand(version, stdout),
	)
	for _, c := range cmd.Commands() {
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cli.Usage(err) })
	}
	return cmd
}
