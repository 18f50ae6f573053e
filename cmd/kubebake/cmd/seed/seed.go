// Package seed is `kubebake seed`: write a cloud-init NoCloud seed ISO.
package seed

import (
	"errors"
	"fmt"
	"io"
	"os"

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
	// Output is the seed ISO to write (replaced).
	Output string
}

// NewCommand returns the seed command. stderr is unused; it is taken like
// every other subcommand's.
func NewCommand(stdout, _ io.Writer) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:   "seed --user-data FILE -o SEED.iso",
		Short: "Write a cloud-init NoCloud seed ISO (volume cidata) for a VM",
		Long: "seed writes user-data, meta-data and, when given, network-config and vendor-data to an\n" +
			"ISO9660 volume labelled cidata (Rock Ridge and Joliet), which cloud-init's NoCloud data\n" +
			"source reads when the ISO is attached to a VM. Without --meta-data, meta-data holds\n" +
			"--instance-id (a fresh one when not given) and --hostname. The ISO is replaced whole,\n" +
			"never half-written.",
		Example: "  kubebake seed --user-data user-data.yaml --hostname node-1 -o seed.iso\n" +
			"  kubebake seed --user-data user-data.yaml --meta-data meta-data.yaml \\\n" +
			"      --network-config network-config.yaml -o out/node-1-seed.iso\n" +
			"  qemu-system-x86_64 ... -drive file=seed.iso,if=virtio,format=raw,readonly=on",
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.UserData == "" {
				return cli.Usage(errors.New("seed: --user-data FILE is required"))
			}
			if o.Output == "" {
				return cli.Usage(errors.New("seed: -o SEED.iso is required"))
			}
			if o.MetaData != "" && (o.InstanceID != "" || o.Hostname != "") {
				return cli.Usage(errors.New("seed: --meta-data cannot be combined with --instance-id or --hostname"))
			}
			return Run(stdout, *o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.UserData, "user-data", "", "user-data file (#cloud-config, script or MIME multipart)")
	fl.StringVar(&o.MetaData, "meta-data", "", "meta-data file (default: generated from --instance-id and --hostname)")
	fl.StringVar(&o.NetworkConfig, "network-config", "", "network-config file (version 1 or 2)")
	fl.StringVar(&o.VendorData, "vendor-data", "", "vendor-data file")
	fl.StringVar(&o.InstanceID, "instance-id", "", "instance-id of the generated meta-data (default: a fresh random one)")
	fl.StringVar(&o.Hostname, "hostname", "", "local-hostname of the generated meta-data")
	fl.StringVarP(&o.Output, "output", "o", "", "seed ISO to write (replaced)")
	return cmd
}

// Run reads the input files, writes the seed ISO and prints what it wrote.
func Run(stdout io.Writer, o Options) error {
	var s nocloud.Seed
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
			return fmt.Errorf("%s: %w", in.flag, err)
		}
		*in.dst = b
	}
	if o.MetaData == "" {
		s.MetaData = nocloud.DefaultMetaData(o.InstanceID, o.Hostname)
	}
	if err := nocloud.WriteSeed(o.Output, s); err != nil {
		return err
	}
	fi, err := os.Stat(o.Output)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote NoCloud seed %s (%d bytes)\n", o.Output, fi.Size())
	return nil
}
