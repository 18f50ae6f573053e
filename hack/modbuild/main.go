// Command modbuild builds the programs hack/ needs from their Go modules,
// through the Go module proxy only: no GitHub, no release downloads. It is
// what hack/k8s-bin.sh, hack/k8s-images.sh and hack/cri-dockerd.sh run (via
// modbuild in hack/lib.sh), one command each:
//
//	modbuild [-root DIR] k8s-bin     [-v VERSION] [-o OUTDIR] [BINARY...]
//	modbuild [-root DIR] k8s-images  [-v VERSION] [-o OUTDIR]
//	modbuild [-root DIR] cri-dockerd [-v VERSION] [-o OUTDIR]
//
// DIR is the repository root, under which _build/ holds the caches. Each
// command's -h says what it builds and reads; the scripts' headers say how.
// What the three share lives here once:
//
//   - the command line: getopts-style -v, -o and -h, and the version check
//     (vMAJOR.MINOR.PATCH, optionally with a pre-release: v1.37.0-rc.1);
//   - tools modules (toolsModule): a generated module under _build/ that
//     requires MODULE@VERSION, pinned, and carries the upstream go.mod's
//     replace directives, copied or rewritten, set up once;
//   - `go mod download -json`, read as JSON, with the proxy's errors
//     reported for the module they concern;
//   - builds (goBuild): CGO_ENABLED=0 go build -trimpath with version
//     ldflags into a temporary file, checked against the version the binary
//     reports, renamed into place; a binary that already reports the wanted
//     version is kept, so a second run takes seconds.
//
// Versions are always pinned: the proxy refuses the version lists of some
// modules, so @latest and @upgrade queries are never made.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// command is one of modbuild's commands: one hack/ script.
type command struct {
	usage          string // what -h prints
	defaultVersion string
	example        string // the version shown when VERSION is malformed
	kubernetes     bool   // VERSION is a Kubernetes release: 1.x only
	binaries       bool   // takes BINARY... arguments
	run            func(ctx context.Context, t *tool, o options) error
}

// options is a command's command line, checked.
type options struct {
	version Version
	outdir  string   // -o, "" for the command's default
	args    []string // BINARY...
}

var commands = map[string]command{
	"k8s-bin": {
		usage: `usage: hack/k8s-bin.sh [-v VERSION] [-o OUTDIR] [BINARY...]

Builds static Kubernetes binaries from Go modules (module proxy only).

  -v VERSION  Kubernetes version (default v1.36.3)
  -o OUTDIR   output directory (default _build/k8s/VERSION/bin under the repository)
  -h          this help
  BINARY      any of: ` + strings.Join(allBins, " ") + `
              (default: ` + strings.Join(nodeBins, " ") + `)

Environment:
  KUBEBAKE_CRI_TOOLS_VERSION   cri-tools version for crictl (default v1.MINOR.0)
  KUBEBAKE_CRI_TOOLS_FALLBACK  used when v1.MINOR.0 is not on the proxy (default v1.36.0)
`,
		defaultVersion: "v1.36.3",
		example:        "v1.36.3",
		kubernetes:     true,
		binaries:       true,
		run:            runK8sBin,
	},
	"k8s-images": {
		usage: `usage: hack/k8s-images.sh [-v VERSION] [-o OUTDIR]

Builds kubeadm's control-plane images for VERSION from Go modules (module
proxy only) as image archives (OUTDIR/NAME.tar) plus OUTDIR/images.json.

  -v VERSION  Kubernetes version (default v1.36.3)
  -o OUTDIR   output directory (default _build/k8s-images/VERSION under the repository)
  -h          this help

Environment:
  KUBEBAKE_ETCD_VERSION     etcd module version (default: from kubeadm's etcd tag)
  KUBEBAKE_COREDNS_VERSION  coredns module version (default: kubeadm's coredns tag)
  SOURCE_DATE_EPOCH         image timestamps (default 0)
`,
		defaultVersion: "v1.36.3",
		example:        "v1.36.3",
		kubernetes:     true,
		run:            runK8sImages,
	},
	"cri-o": {
		usage: `usage: hack/cri-o.sh [-v VERSION] [-o OUTDIR]

Builds a static crio and pinns from CRI-O's Go module (module proxy only;
pinns from the module's C sources with gcc) for runtime.source: local
(kubebake build --runtime-dir OUTDIR).

  -v VERSION  CRI-O version (default v1.36.2)
  -o OUTDIR   output directory (default _build/cri-o/VERSION/bin under the repository)
  -h          this help

Needs gcc and the static libseccomp, libapparmor and libselinux (their -dev
packages; hack/deps.sh installs them).

Environment:
  SOURCE_DATE_EPOCH  build date stamped into crio (default 0)
`,
		defaultVersion: "v1.36.2",
		example:        "v1.36.2",
		run:            runCrio,
	},
	"cri-dockerd": {
		usage: `usage: hack/cri-dockerd.sh [-v VERSION] [-o OUTDIR]

Builds a static cri-dockerd from its Go module (module proxy only) for
runtime.criDockerd.source: local (kubebake build --cri-dockerd-dir OUTDIR).

  -v VERSION  cri-dockerd version (default v0.4.3)
  -o OUTDIR   output directory (default _build/cri-dockerd/VERSION/bin under the repository)
  -h          this help

Environment:
  SOURCE_DATE_EPOCH  build time stamped into the binary, if the version has a
                     BuildTime variable (default 0; v0.4.x has none)
`,
		defaultVersion: "v0.4.3",
		example:        "v0.4.3",
		run:            runCriDockerd,
	},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Main runs modbuild with args and returns its exit status. Errors are
// printed once, here, as the scripts printed them: "NAME: error: ...".
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("modbuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "the repository root, under which _build/ holds the caches")
	fs.Usage = func() {
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(stderr, "usage: modbuild [-root DIR] COMMAND [-h] [ARGS...]\n\ncommands: %s\n", strings.Join(names, ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c, ok := commands[fs.Arg(0)]
	if !ok {
		fs.Usage()
		return 2
	}
	name := fs.Arg(0)
	o, help, err := c.parse(fs.Args()[1:])
	if help {
		fmt.Fprint(stdout, c.usage)
		return 0
	}
	if err == nil {
		// The tools modules are modules of their own: no go.work applies.
		_ = os.Setenv("GOWORK", "off")
		var t *tool
		if t, err = newTool(name, *root, stdout, stderr); err == nil {
			err = c.run(ctx, t, o)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", name, err)
		return 1
	}
	return 0
}

// parse checks a command line: the options, then the arguments, then the
// version. help is true when -h came before any error.
func (c command) parse(args []string) (o options, help bool, err error) {
	cl, err := getopts(args, c.defaultVersion)
	if err != nil || cl.help {
		return options{}, cl.help, err
	}
	if !c.binaries && len(cl.args) > 0 {
		return options{}, false, fmt.Errorf("unexpected arguments: %s (see -h)", strings.Join(cl.args, " "))
	}
	s := withV(cl.version)
	v, ok := ParseVersion(s)
	if !ok {
		return options{}, false, fmt.Errorf("VERSION must look like %s (got '%s')", c.example, s)
	}
	if c.kubernetes && v.Major != "1" {
		return options{}, false, fmt.Errorf("only Kubernetes 1.x is supported (got %s)", s)
	}
	return options{version: v, outdir: cl.outdir, args: cl.args}, false, nil
}

// cmdline is a command line as getopts splits it.
type cmdline struct {
	version, outdir string
	help            bool
	args            []string
}

// getopts splits args as bash's `getopts ':v:o:h'` did in the scripts:
// options may be grouped (-hv), a value may be attached (-vv1.36.3) or be the
// next argument, "--" ends the options, and so does the first argument that
// is not an option. -h stops at once.
func getopts(args []string, defaultVersion string) (cmdline, error) {
	cl := cmdline{version: defaultVersion}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			switch o := a[j]; o {
			case 'h':
				cl.help = true
				return cl, nil
			case 'v', 'o':
				val := a[j+1:]
				if val == "" {
					if i+1 == len(args) {
						return cmdline{}, fmt.Errorf("option -%c needs a value (see -h)", o)
					}
					i++
					val = args[i]
				}
				if o == 'v' {
					cl.version = val
				} else {
					cl.outdir = val
				}
				j = len(a)
			default:
				return cmdline{}, fmt.Errorf("unknown option -%c (see -h)", o)
			}
		}
	}
	if i < len(args) {
		cl.args = args[i:]
	}
	return cl, nil
}

// absRoot is the repository root as an absolute path.
func absRoot(root string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
		return "", fmt.Errorf("-root %s: not the repository root: %w", root, err)
	}
	return abs, nil
}
