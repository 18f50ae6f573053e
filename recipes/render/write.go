package render

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Write puts a plan on disk at dir: plan.json, rootfs/ with every file at
// its absolute path, steps/NN-name.sh, and config.bu and config.ign for
// Fedora CoreOS. The directory is built beside dir and renamed into place,
// so dir is either the old plan or the whole new one, never half-written.
func Write(p *Plan, dir string) error {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
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
	return replaceDir(tmp, dir)
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

// replaceDir moves src to dst, replacing an existing dst.
func replaceDir(src, dst string) error {
	old := ""
	if _, err := os.Lstat(dst); err == nil {
		old = dst + ".old"
		_ = os.RemoveAll(old)
		if err := os.Rename(dst, old); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
	}
	if err := os.Rename(src, dst); err != nil {
		if old != "" {
			_ = os.Rename(old, dst)
		}
		return fmt.Errorf("write plan: %w", err)
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("write plan: remove previous plan: %w", err)
		}
	}
	return nil
}
