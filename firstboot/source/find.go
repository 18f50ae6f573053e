package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
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
// stored for this instance, then NoCloud seed directories. The first that
// exists is the user data; a seed is read only where cloud-init has not
// stored the instance's user data, since a seed left from another boot
// must not win over what this instance was given.
func DefaultUserDataFiles() []string {
	return []string{
		"/var/lib/cloud/instance/user-data.txt",
		"/var/lib/cloud/seed/nocloud/user-data",
		"/var/lib/cloud/seed/nocloud-net/user-data",
	}
}

// cloudInitInstanceDir exists once cloud-init has run for this instance;
// cloudInitSeedDir holds the seeds it reads before that.
const (
	cloudInitInstanceDir = "/var/lib/cloud/instance"
	cloudInitSeedDir     = "/var/lib/cloud/seed/"
)

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
		data, err := readInput(f.ConfigFile, maxUserData)
		if err != nil {
			return Found{}, fmt.Errorf("--config: %w", err)
		}
		return Found{Source: "file " + f.ConfigFile, Doc: data}, nil
	}
	_, err := os.Stat(f.path(cloudInitInstanceDir))
	cloudInitRan := err == nil
	for _, p := range f.userDataFiles() {
		if cloudInitRan && strings.HasPrefix(p, cloudInitSeedDir) {
			continue // cloud-init has run: its seeds are not this instance's user data
		}
		data, err := readInput(f.path(p), maxUserData)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Found{}, fmt.Errorf("cloud-init user data %s: %w", p, err)
		}
		doc, ok, err := FromUserData(data)
		if err != nil {
			return Found{}, fmt.Errorf("cloud-init user data %s: %w", p, err)
		}
		if ok {
			return Found{Source: "cloud-init user data " + p, Doc: doc}, nil
		}
		break // this is the user data: later files are fallbacks only
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
	data, err := readInput(f.path(NodeConfigPath), maxUserData)
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
		data, err := readInput(filepath.Join(root, p), nodeconfig.MaxSize)
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

// readInput reads a file that arrives from outside: a regular file of at
// most limit bytes (a FIFO would hang the boot, an endless file fill the
// memory).
func readInput(path string, limit int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s holds %d bytes, more than the limit of %d", path, fi.Size(), limit)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s holds more than the limit of %d bytes", path, limit)
	}
	return data, nil
}
