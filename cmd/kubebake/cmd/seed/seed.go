// Package seed is `kubebake seed`: write a cloud-init NoCloud seed ISO.
package seed

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubebake/kubebake/internal/cli"
	"github.com/kubebake/kubebake/internal/nocloud"
)

// Options are the inputs of Run.
type Options struct {
	// UserData is the user-data file; required.
	UserData string
	// MetaData is the meta-data file; when empty, meta-data is generated
	// from InstanceID and Hostname.
	MetaData string
	// NetworkConfig is the network-config file; optional.
	NetworkConfig string
	// VendorData is the vendor-data file; optional.
	VendorData string
	// InstanceID is the generated meta-data's instance-id; a fresh one when
	// empty.
	InstanceID string
	// Hostname is the generated meta-data's local-hostname; left out when
	// empty.
	Hostname string
	// Dest is the seed ISO to write (replaced).
	Dest string
}

// Result is what seed reports.
type Result struct {
	// Seed is the ISO written.
	Seed string `json:"seed"`
	// Size is its size in bytes.
	Size int64 `json:"size"`
	// Files are the files it holds.
	Files []string `json:"files"`
}

func (r *Result) text(w io.Writer) error {
	_, err := fmt.Fprintf(w, "wrote NoCloud seed %s (%d bytes)\n", r.Seed, r.Size)
	return err
}

// NewCommand returns the seed command: the result goes to stdout, log
// lines to log.
func NewCommand(stdout io.Writer, log *slog.Logger) *cobra.Command {
	o := &Options{}
	var output string
	cmd := &cobra.Command{
		Use:   "seed --user-data FILE --dest SEED.iso",
		Short: "Write a cloud-init NoCloud seed ISO (volume cidata) for a VM",
		Long: "seed writes user-data, meta-data and, when given, network-config and vendor-data to an\n" +
			"ISO9660 volume labelled cidata (Rock Ridge and Joliet), which cloud-init's NoCloud data\n" +
			"source reads when the ISO is attached to a VM. Without --meta-data, meta-data holds\n" +
			"--instance-id (a fresh one when not given) and --hostname. The ISO is replaced whole,\n" +
			"never half-written. It reports the ISO's path and size as text, or with -o json or yaml.",
		Example: "  kubebake seed --user-data user-data.yaml --hostname node-1 --dest seed.iso\n" +
			"  kubebake seed --user-data user-data.yaml --meta-data meta-data.yaml \\\n" +
			"      --network-config network-config.yaml -d out/node-1-seed.iso -o json\n" +
			"  qemu-system-x86_64 ... -drive file=seed.iso,if=virtio,format=raw,readonly=on",
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cli.CheckOutput(output, true); err != nil {
				return err
			}
			if o.UserData == "" {
				return cli.Usage(errors.New("seed: --user-data FILE is required"))
			}
			if o.Dest == "" {
				return cli.Usage(errors.New("seed: --dest SEED.iso is required"))
			}
			if o.MetaData != "" && (o.InstanceID != "" || o.Hostname != "") {
				return cli.Usage(errors.New("seed: --meta-data cannot be combined with --instance-id or --hostname"))
			}
			res, err := Run(log, *o)
			if err != nil {
				return err
			}
			return cli.Print(stdout, output, res, res.text)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.UserData, "user-data", "", "user-data file (#cloud-config, script or MIME multipart)")
	fl.StringVar(&o.MetaData, "meta-data", "", "meta-data file (default: generated from --instance-id and --hostname)")
	fl.StringVar(&o.NetworkConfig, "network-config", "", "network-config file (version 1 or 2)")
	fl.StringVar(&o.VendorData, "vendor-data", "", "vendor-data file")
	fl.StringVar(&o.InstanceID, "instance-id", "", "instance-id of the generated meta-data (default: a fresh random one)")
	fl.StringVar(&o.Hostname, "hostname", "", "local-hostname of the generated meta-data")
	cli.DestFlag(cmd, &o.Dest, "iso", "seed ISO to write (replaced)")
	cli.OutputFlag(cmd, &output)
	return cmd
}

// Run reads the input files and writes the seed ISO.
func Run(log *slog.Logger, o Options) (*Result, error) {
	var s nocloud.Seed
	var files []string
	inputs := []struct {
		flag, path string
		dst        *[]byte
	}{
		{"--user-data", o.UserData, &s.UserData},
		{"--meta-data", o.MetaData, &s.MetaData},
		{"--network-config", o.NetworkConfig, &s.NetworkConfig},
		{"--vendor-data", o.VendorData, &s.VendorData},
	}
	for _, in := range inputs {
		if in.path == "" {
			continue
		}
		b, err := os.ReadFile(in.path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.flag, err)
		}
		*in.dst = b
		files = append(files, strings.TrimPrefix(in.flag, "--"))
		log.Debug("read", "file", in.path, "as", strings.TrimPrefix(in.flag, "--"), "bytes", len(b))
	}
	if o.MetaData == "" {
		s.MetaData = nocloud.DefaultMetaData(o.InstanceID, o.Hostname)
		files = append(files, "meta-data")
		log.Debug("generated meta-data", "content", string(s.MetaData))
	}
	sort.Strings(files)
	if err := nocloud.WriteSeed(o.Dest, s); err != nil {
		return nil, err
	}
	fi, err := os.Stat(o.Dest)
	if err != nil {
		return nil, err
	}
	return &Result{Seed: o.Dest, Size: fi.Size(), Files: files}, nil
}
