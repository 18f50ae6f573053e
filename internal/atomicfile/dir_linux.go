package atomicfile

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames src to dst unless dst appeared meanwhile.
func renameNoReplace(src, dst string) error {
	if err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE); err != nil {
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			return renameFallback(src, dst)
		}
		return fmt.Errorf("rename %s to %s: %w", src, dst, err)
	}
	return nil
}

// exchange swaps src and dst atomically; the old dst is then at src.
func exchange(src, dst string) (string, error) {
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return exchangeFallback(src, dst) // a file system without exchange
	}
	if err != nil {
		return "", fmt.Errorf("exchange %s and %s: %w", src, dst, err)
	}
	return src, nil
}
