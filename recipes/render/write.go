package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/internal/atomicfile"
)

// Write puts a plan on disk at dir: plan.json, rootfs/ with every file at
// its absolute path, steps/NN-name.sh, and config.bu and config.ign for
// Fedora CoreOS. The directory is built beside dir and exchanged with it
// atomically, so dir is either the old plan or the whole new one, never
// half-written or missing. dir must be missing, empty or a plan written
// before: anything else is refused, not replaced. Temporary directories
// left by a writer that was killed are removed.
func Write(p *Plan, dir string) error {
	dir = filepath.Clean(dir)
	if err := replaceable(dir); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	atomicfile.RemoveLeftovers(dir)
	tmp, err := atomicfile.MkdirTemp(dir)
	if err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	if err := writeTree(p, tmp); err != nil {
		return err
	}
	if err := atomicfile.ReplaceDir(tmp, dir); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}

// replaceable says whether dir may be replaced by a plan: it is missing,
// an empty directory, or a plan (its plan.json says kind Plan).
func replaceable(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s exists and is not a directory: not replacing it", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "plan.json"))
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err != nil || json.Unmarshal(b, &head) != nil || head.APIVersion != api.Version || head.Kind != "Plan" {
		return fmt.Errorf("%s exists and is not a kubebake plan (no plan.json of kind Plan): not replacing it", dir)
	}
	return nil
}

// writeTree writes the plan's files into root.
func writeTree(p *Plan, root string) error {
	put := func(rel string, content []byte, mode os.FileMode) error {
		path := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
		if err := os.WriteFile(path, content, mode); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
		// WriteFile's mode is subject to the umask; set it exactly.
		if err := os.Chmod(path, mode); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
		return nil
	}
	for _, f := range p.Files {
		mode, err := strconv.ParseUint(f.Mode, 8, 32)
		if err != nil {
			return fmt.Errorf("write plan: %s: mode %q: %w", f.Path, f.Mode, err)
		}
		if err := put("rootfs"+f.Path, f.Content, os.FileMode(mode)&os.ModePerm); err != nil {
			return err
		}
	}
	for _, s := range p.Steps {
		if err := put(s.Script, s.Body, 0o755); err != nil {
			return err
		}
	}
	if p.Butane != nil {
		if err := put("config.bu", p.Butane, 0o644); err != nil {
			return err
		}
		if err := put("config.ign", p.Ignition, 0o644); err != nil {
			return err
		}
	}
	js, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return put("plan.json", append(js, '\n'), 0o644)
}
