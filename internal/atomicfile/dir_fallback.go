package atomicfile

import (
	"fmt"
	"os"
)

// renameFallback renames src to dst.
func renameFallback(src, dst string) error {
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("rename %s to %s: %w", src, dst, err)
	}
	return nil
}

// exchangeFallback moves dst aside under a fresh name of its own and src
// into place: not atomic (dst is missing between the two renames), but it
// never removes what it did not move aside, and puts dst back on failure.
func exchangeFallback(src, dst string) (string, error) {
	old, err := sideName(dst, "old")
	if err != nil {
		return "", err
	}
	if err := os.Rename(dst, old); err != nil {
		return "", fmt.Errorf("move %s aside: %w", dst, err)
	}
	if err := os.Rename(src, dst); err != nil {
		if rerr := os.Rename(old, dst); rerr != nil {
			return "", fmt.Errorf("rename %s to %s: %w (and the previous one stays at %s: %v)", src, dst, err, old, rerr)
		}
		return "", fmt.Errorf("rename %s to %s: %w", src, dst, err)
	}
	return old, nil
}
