package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Found is a NodeConfig document and where it came from.
type Found struct {
	// Source names where the document was found, for logs and status.
	Source string
	Doc    []byte
}

// Finder looks for the NodeConfig. Every path is relative to Root.
type Finder struct {
	// Root prefixes every path (tests use a temp dir).
	Root string
	// ConfigFile is an explicit file given with --config.
	ConfigFile string
	// UserDataFiles are cloud-init user-data locations, tried in order.
	// Defaults to DefaultUserDataFiles.
	UserDataFiles []string
	// IMDS is tried when UseIMDS is true.
	IMDS    IMDS
	UseIMDS bool
}

// DefaultUserDataFiles are where cloud-init keeps user data: what it
// stored for this instance, then NoCloud seed directories.
func DefaultUserDataFiles() []string {
	return []string{
		"/var/lib/cloud/instance/user-data.txt",
		"/var/lib/cloud/seed/nocloud/user-data",
		"/var/lib/cloud/seed/nocloud-net/user-data",
	}
}

// Tried lists, for a log line, where Find looks.
func (f Finder) Tried() []string {
	var out []string
	if f.ConfigFile != "" {
		out = append(out, f.ConfigFile)
	}
	out = append(out, f.userDataFiles()...)
	if f.UseIMDS {
		out = append(out, "EC2 IMDSv2")
	}
	return append(out, NodeConfigPath)
}

func (f Finder) userDataFiles() []string {
	if f.UserDataFiles != nil {
		return f.UserDataFiles
	}
	return DefaultUserDataFiles()
}

func (f Finder) path(p string) string { return filepath.Join(f.Root, p) }

// ErrNotFound means no source holds a NodeConfig.
var ErrNotFound = errors.New("no NodeConfig found")

// Find returns the first NodeConfig found, in order: the explicit file,
// cloud-init user data, IMDSv2 user data, the file Ignition wrote.
func (f Finder) Find(ctx context.Context) (Found, error) {
	if f.ConfigFile != "" {
		data, err := os.ReadFile(f.ConfigFile)
		if err != nil {
			return Found{}, fmt.Errorf("--config: %w", err)
		}
		return Found{Source: "file " + f.ConfigFile, Doc: data}, nil
	}
	for _, p := range f.userDataFiles() {
		data, err := os.ReadFile(f.path(p))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Found{}, fmt.Errorf("cloud-init user data: %w", err)
		}
		doc, ok, err := FromUserData(data)
		if err != nil {
			return Found{}, fmt.Errorf("cloud-init user data %s: %w", p, err)
		}
		if ok {
			return Found{Source: "cloud-init user data " + p, Doc: doc}, nil
		}
	}
	if f.UseIMDS {
		data, ok, err := f.IMDS.UserData(ctx)
		if err != nil {
			return Found{}, err
		}
		if ok {
			doc, ok, err := FromUserData(data)
			if err != nil {
				return Found{}, fmt.Errorf("IMDSv2 %w", err)
			}
			if ok {
				return Found{Source: "EC2 IMDSv2 user data", Doc: doc}, nil
			}
		}
	}
	data, err := os.ReadFile(f.path(NodeConfigPath))
	if err == nil {
		return Found{Source: "file " + NodeConfigPath + " (written by Ignition or cloud-init)", Doc: data}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Found{}, err
	}
	return Found{}, ErrNotFound
}

// DropIns returns the drop-ins of dir (*.yaml, sorted by name) with their
// names.
func DropIns(root, dir string) ([]Found, error) {
	entries, err := os.ReadDir(filepath.Join(root, dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var out []Found
	for _, n := range names {
		p := filepath.Join(dir, n)
		data, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			return nil, err
		}
		out = append(out, Found{Source: p, Doc: data})
	}
	return out, nil
}

// OnEC2 reports whether the machine says it is an EC2 instance (DMI vendor
// or Xen hypervisor UUID), so that IMDS is worth asking.
func OnEC2(root string) bool {
	for _, p := range []string{"/sys/class/dmi/id/sys_vendor", "/sys/class/dmi/id/board_vendor"} {
		if b, err := os.ReadFile(filepath.Join(root, p)); err == nil && strings.Contains(string(b), "Amazon EC2") {
			return true
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "/sys/hypervisor/uuid")); err == nil && strings.HasPrefix(strings.ToLower(string(b)), "ec2") {
		return true
	}
	return false
}
