// Package test is `kubebake test`: boot a baked image and check it.
package test

import (
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubebake/kubebake/internal/atomicfile"
	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/internal/imagetest"
)

type flags struct {
	userData, output, accel, serial string
	report                          string
	timeout                         time.Duration
}

// NewCommand returns the test command. Progress and log lines go to
// stderr and log, the report to stdout.
func NewCommand(stdout, stderr io.Writer, log *slog.Logger) *cobra.Command {
	f := &flags{}
	cmd := &cobra.Command{
		Use:   "test IMAGE",
		Short: "Boot a baked image under QEMU and check that it is ready for kubeadm",
		Long: "test checks the disk first (no SSH host keys, build user, machine-id, cloud-init state, shell\n" +
			"history or package caches baked in), then boots the image with a NoCloud seed and checks from\n" +
			"inside: kernel modules, sysctls, swap, the runtime and its systemd cgroup driver, crictl\n" +
			"RuntimeReady, kubelet/kubeadm/kubectl versions, pre-loaded images and their pins, kubebake-firstboot,\n" +
			"and kubeadm's own preflight. It prints a table (or -o json or yaml) on standard output,\n" +
			"progress on standard error, exits 1 when a check fails and always shuts the machine down.\n" +
			"With --user-data (e.g. from kubebake userdata) it waits for kubebake-firstboot's result\n" +
			"instead of running the preflight.",
		Example: "  kubebake test out/debian-13-containerd.qcow2\n  kubebake test out/debian-13-containerd.qcow2 --user-data init.yaml -o json",
		Args:    cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cli.CheckOutput(f.output, false); err != nil {
				return err
			}
			rep, err := imagetest.Run(cmd.Context(), imagetest.Options{
				Image: args[0], UserData: f.userData, Accel: f.accel, Timeout: f.timeout,
				KeepSerial: f.serial, Progress: stderr, Runner: cli.Runner(log, stderr, cli.LevelTrace),
			})
			if err != nil {
				return err
			}
			if f.report != "" {
				if err := writeReport(f.report, rep); err != nil {
					return err
				}
			}
			return Print(stdout, rep, f.output)
		},
	}
	cmd.Flags().StringVar(&f.userData, "user-data", "", "extra user data for the machine (cloud-config, MIME or a NodeConfig)")
	cli.OutputFlag(cmd, &f.output)
	cmd.Flags().StringVar(&f.accel, "accel", "auto", "accelerator: auto (KVM when it works, else TCG), kvm or tcg")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 15*time.Minute, "how long the boot and the checks may take")
	cmd.Flags().StringVar(&f.serial, "serial-log", "", "keep the machine's serial console in this file")
	cmd.Flags().StringVar(&f.report, "report", "", "also write the JSON report to this file")
	_ = cmd.RegisterFlagCompletionFunc("accel", cli.CompleteValues("auto", "kvm", "tcg"))
	return cmd
}

// writeReport writes the JSON report atomically.
func writeReport(path string, rep *imagetest.Report) error {
	if err := atomicfile.WriteJSON(path, rep); err != nil {
		return fmt.Errorf("--report: %w", err)
	}
	return nil
}

// Print writes the report in output (text, json or yaml) and returns an
// exit error when a check failed.
func Print(w io.Writer, rep *imagetest.Report, output string) error {
	if err := cli.Print(w, output, rep, func(w io.Writer) error { return printText(w, rep) }); err != nil {
		return err
	}
	if !rep.Passed {
		return &cli.ExitError{Code: 1, Err: fmt.Errorf("%s failed its checks", rep.Image)}
	}
	return nil
}

// printText writes the report as a table and a summary.
func printText(w io.Writer, rep *imagetest.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tWHERE\tRESULT\tDETAIL")
	failed := 0
	for _, c := range rep.Checks {
		res := "PASS"
		if !c.Passed {
			res = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, c.Where, res, c.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d checks, %d failed; accelerator %s; boot to checks done %.0fs\n", len(rep.Checks), failed, rep.Accel, rep.BootSeconds)
	if v, ok := rep.Metrics["firstboot-start-seconds"]; ok {
		fmt.Fprintf(w, "kubebake-firstboot started %.1fs after the kernel\n", v)
	}
	return nil
}
