// Command kubebake-firstboot turns a freshly booted kubebake image into a
// Kubernetes node: it finds the NodeConfig, renders the kubeadm
// configuration and runs kubeadm init or join, leaving a definite result.
// It is run once per boot by kubebake-firstboot.service.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/kubebake/kubebake/firstboot"
	"github.com/kubebake/kubebake/firstboot/source"
)

// version is set at release with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Run parses args, runs the agent and returns the exit code: 0 when the
// node is a member (or there was nothing to do), 1 when it failed, 2 for
// usage errors.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kubebake-firstboot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		configFile   = fs.String("config", "", "read the NodeConfig from this file instead of looking for it")
		root         = fs.String("root", "/", "treat every path as relative to this directory (for tests)")
		skip         = fs.String("skip", "", "phases to skip: run (write the kubeadm configuration only)")
		imds         = fs.String("imds", "auto", "ask EC2 IMDSv2 for user data: auto (on EC2), always or never")
		imdsEndpoint = fs.String("imds-endpoint", source.DefaultIMDSEndpoint, "IMDS base URL")
		console      = fs.String("console", "", "where the result line goes (default ROOT/dev/console; - for stdout only)")
		showVersion  = fs.Bool("version", false, "print the version and exit")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kubebake-firstboot [flags]\n\nExample:\n  kubebake-firstboot --config node.yaml --skip run --root /tmp/node\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kubebake-firstboot: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	if *showVersion {
		fmt.Fprintf(stdout, "kubebake-firstboot %s\n", version)
		return 0
	}
	skipRun := false
	for _, s := range strings.Split(*skip, ",") {
		switch strings.TrimSpace(s) {
		case "":
		case "run":
			skipRun = true
		default:
			fmt.Fprintf(stderr, "kubebake-firstboot: --skip: unknown phase %q (want run)\n", s)
			return 2
		}
	}
	useIMDS := false
	switch *imds {
	case "auto":
		useIMDS = source.OnEC2(*root)
	case "always":
		useIMDS = true
	case "never":
	default:
		fmt.Fprintf(stderr, "kubebake-firstboot: --imds: want auto, always or never, got %q\n", *imds)
		return 2
	}
	err := firstboot.Run(ctx, firstboot.Options{
		Root:        *root,
		Finder:      source.Finder{Root: *root, ConfigFile: *configFile, UseIMDS: useIMDS, IMDS: source.IMDS{Endpoint: *imdsEndpoint}},
		SkipRun:     skipRun,
		Log:         stdout,
		ConsolePath: *console,
	})
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 1
	}
	return 0
}
