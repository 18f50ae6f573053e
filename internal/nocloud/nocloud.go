// Package nocloud writes cloud-init NoCloud seeds: an ISO9660 volume labelled
// cidata that holds user-data, meta-data and, when given, network-config and
// vendor-data. cloud-init finds the volume by its label and reads the files
// from its root.
package nocloud

import (
	"crypto/rand"
	"fmt"
	"os"
	"strings"

	"github.com/kubebake/kubebake/internal/atomicfile"
	yaml "go.yaml.in/yaml/v3"
)

// VolumeLabel is the volume label cloud-init's NoCloud data source looks for.
const VolumeLabel = "cidata"

// Seed is the content of a NoCloud seed, one field per file.
type Seed struct {
	// UserData is the user-data file: #cloud-config, a script or MIME
	// multipart. It is always written, empty when nil.
	UserData []byte
	// MetaData is the meta-data file (YAML with instance-id and, optionally,
	// local-hostname). Empty means DefaultMetaData("", ""): a fresh
	// instance-id, so cloud-init treats every seed as a new instance.
	MetaData []byte
	// NetworkConfig is the network-config file (version 1 or 2); written only
	// when not empty.
	NetworkConfig []byte
	// VendorData is the vendor-data file; written only when not empty.
	VendorData []byte
}

// seedFile is one file of the seed.
type seedFile struct {
	name string
	data []byte
}

// files lists the files WriteSeed writes, with meta-data defaulted.
func (s Seed) files() []seedFile {
	md := s.MetaData
	if len(md) == 0 {
		md = DefaultMetaData("", "")
	}
	out := []seedFile{{"user-data", s.UserData}, {"meta-data", md}}
	if len(s.NetworkConfig) > 0 {
		out = append(out, seedFile{"network-config", s.NetworkConfig})
	}
	if len(s.VendorData) > 0 {
		out = append(out, seedFile{"vendor-data", s.VendorData})
	}
	return out
}

// DefaultMetaData returns meta-data naming the instance and, when hostname is
// not empty, its local-hostname. An empty instanceID is replaced by a fresh
// random one ("iid-" and 26 lower-case letters and digits).
func DefaultMetaData(instanceID, hostname string) []byte {
	if instanceID == "" {
		instanceID = "iid-" + strings.ToLower(rand.Text())
	}
	md := struct {
		InstanceID    string `yaml:"instance-id"`
		LocalHostname string `yaml:"local-hostname,omitempty"`
	}{instanceID, hostname}
	b, err := yaml.Marshal(md)
	if err != nil {
		// Two strings always marshal; this is a bug in the YAML library.
		panic(fmt.Sprintf("nocloud: marshal meta-data: %v", err))
	}
	return b
}

// WriteSeed writes s to path as a NoCloud seed: an ISO9660 volume labelled
// cidata, with Rock Ridge and Joliet names. The image is built in a temporary
// file beside path and renamed over it, so path is either the old file or the
// whole new seed, never half-written, and a killed writer's temporary file
// is removed by the next. The file has mode 0600: user-data often carries
// secrets such as join tokens.
func WriteSeed(path string, s Seed) (err error) {
	atomicfile.RemoveLeftovers(path)
	tmp, err := atomicfile.CreateTemp(path)
	if err != nil {
		return fmt.Errorf("write seed %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := buildISO(tmp, s.files()); err != nil {
		return fmt.Errorf("write seed %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write seed %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write seed %s: %w", path, err)
	}
	if err := atomicfile.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write seed %s: %w", path, err)
	}
	return nil
}
