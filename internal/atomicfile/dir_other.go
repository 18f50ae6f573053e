//go:build !linux

package atomicfile

// renameNoReplace renames src to dst.
func renameNoReplace(src, dst string) error { return renameFallback(src, dst) }

// exchange puts src at dst; the old dst is at the returned path.
func exchange(src, dst string) (string, error) { return exchangeFallback(src, dst) }
