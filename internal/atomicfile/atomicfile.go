// Package atomicfile writes files so that a reader sees the old content or
// the new, never a mix: the data goes to a temporary file beside the target,
// which is synced and renamed over it, and the rename is synced too, so a
// power cut keeps it. Every write, sync and close is checked, the temporary
// file is removed on any failure, and temporary files that killed writers
// left are removed by the next writer.
package atomicfile

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes data to path with mode perm, atomically.
func WriteFile(path string, data []byte, perm fs.FileMode) (err error) {
	RemoveLeftovers(path)
	tmp, err := CreateTemp(path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("sync the directory of %s: %w", path, err)
	}
	return nil
}

// WriteJSON writes v as indented JSON with a final newline, atomically,
// with mode 0644.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return WriteFile(path, append(b, '\n'), 0o644)
}
