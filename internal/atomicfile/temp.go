package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Temporary files and directories are made beside their target and named
// .BASE.tmp-PID-RANDOM, so that what a killed writer left can be told from
// what a running one is still writing.

func tmpPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

func tmpPattern(path string) string {
	return tmpPrefix(path) + strconv.Itoa(os.Getpid()) + "-*"
}

// CreateTemp creates a temporary file beside path for content that will
// replace it.
func CreateTemp(path string) (*os.File, error) {
	return os.CreateTemp(filepath.Dir(path), tmpPattern(path))
}

// MkdirTemp creates a temporary directory beside path for a tree that will
// replace it.
func MkdirTemp(path string) (string, error) {
	return os.MkdirTemp(filepath.Dir(path), tmpPattern(path))
}

// RemoveLeftovers removes the temporary files and directories of path
// (CreateTemp, MkdirTemp) whose writer is no longer running. It is best
// effort: what cannot be removed stays for the next writer.
func RemoveLeftovers(path string) {
	for _, p := range Leftovers(path) {
		_ = os.RemoveAll(p)
	}
}

// Leftovers lists the temporary files and directories of path whose writer
// is no longer running, for a caller that must remove them with care (a
// directory that may hold mounts).
func Leftovers(path string) []string {
	return temps(filepath.Dir(path), tmpPrefix(path), false)
}

// RemoveTemps removes every temporary file and directory in dir, whoever
// wrote it: for a directory with one writer, as it starts (a writer that
// was cut off by a reboot may share its process ID with the new one).
func RemoveTemps(dir string) {
	for _, p := range temps(dir, ".", true) {
		_ = os.RemoveAll(p)
	}
}

// Rename renames src to dst and syncs dst's directory, so that a power cut
// keeps the rename.
func Rename(src, dst string) error {
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dst))
}

// Remove removes path, if it exists, and syncs its directory.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func temps(dir, prefix string, all bool) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		_, rest, ok := strings.Cut(name, ".tmp-")
		if !ok {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || (!all && processRunning(pid)) {
			continue
		}
		out = append(out, filepath.Join(dir, name))
	}
	return out
}

// syncDir makes a rename in dir durable: without it a power cut can undo
// the rename after the writer reported success.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
