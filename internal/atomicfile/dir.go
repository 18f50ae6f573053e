package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ReplaceDir puts the directory src at dst: dst is the old directory or the
// new one at every instant, never missing or a mix. An existing dst is
// exchanged with src atomically where the kernel can (Linux
// renameat2 RENAME_EXCHANGE) and then removed; dst itself must be a
// directory or missing.
func ReplaceDir(src, dst string) error {
	fi, err := os.Lstat(dst)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := renameNoReplace(src, dst); err != nil {
			return err
		}
		return syncDir(filepath.Dir(dst))
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s exists and is not a directory", dst)
	}
	old, err := exchange(src, dst)
	if err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return err
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("remove the previous %s (now %s): %w", dst, old, err)
	}
	return nil
}

// sideName is a fresh name beside path for a directory of ours.
func sideName(path, what string) (string, error) {
	d, err := os.MkdirTemp(filepath.Dir(path), "."+filepath.Base(path)+"."+what+"-")
	if err != nil {
		return "", err
	}
	return d, os.Remove(d)
}
