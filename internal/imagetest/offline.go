package imagetest

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/kubebake/kubebake/internal/base"
	"github.com/kubebake/kubebake/internal/sys"
)

// rootFS reads files of an ext4 root partition inside a raw disk image with
// debugfs, without mounting it.
type rootFS struct {
	spec string // raw?offset=N
	run  sys.Runner
}

func openRootFS(raw string, run sys.Runner) (*rootFS, error) {
	root, err := base.FindRoot(raw)
	if err != nil {
		return nil, err
	}
	return &rootFS{spec: fmt.Sprintf("%s?offset=%d", raw, root.Offset), run: run}, nil
}

func (r *rootFS) debugfs(ctx context.Context, req string) (string, error) {
	c := sys.Command("debugfs", "-R", req, r.spec)
	c.StdoutOnly = true // debugfs prints its banner on stderr
	out, err := r.run.Run(ctx, c)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// cat returns a file's content; ok is false when it does not exist.
func (r *rootFS) cat(ctx context.Context, path string) ([]byte, bool, error) {
	if _, ok, err := r.stat(ctx, path); err != nil || !ok {
		return nil, false, err
	}
	out, err := r.debugfs(ctx, "cat "+path)
	if err != nil {
		return nil, false, err
	}
	return []byte(out), true, nil
}

// entry is one directory entry from `ls -p`.
type entry struct {
	name string
	mode string
	size string
}

// ls lists a directory; ok is false when it does not exist.
func (r *rootFS) ls(ctx context.Context, dir string) ([]entry, bool, error) {
	out, err := r.debugfs(ctx, "ls -p "+dir)
	if err != nil {
		return nil, false, err
	}
	var list []entry
	exists := false
	for _, line := range strings.Split(out, "\n") {
		// /ino/mode/uid/gid/name/size/
		f := strings.Split(strings.TrimSpace(line), "/")
		if len(f) < 7 {
			continue
		}
		exists = true // a directory lists at least . and ..
		if f[5] == "." || f[5] == ".." {
			continue
		}
		list = append(list, entry{name: f[5], mode: f[2], size: f[6]})
	}
	return list, exists, nil
}

// stat reports a file's size; ok is false when it does not exist.
func (r *rootFS) stat(ctx context.Context, path string) (int64, bool, error) {
	out, err := r.debugfs(ctx, "stat "+path)
	if err != nil {
		return 0, false, err
	}
	if !strings.Contains(out, "Inode:") {
		return 0, false, nil
	}
	var size int64
	for _, line := range strings.Split(out, "\n") {
		if i := strings.Index(line, "Size: "); i >= 0 {
			fmt.Sscanf(line[i+len("Size: "):], "%d", &size)
			break
		}
	}
	return size, true, nil
}

// dump copies a file of the disk to dst on this machine; ok is false when
// it does not exist.
func (r *rootFS) dump(ctx context.Context, path, dst string) (bool, error) {
	if _, ok, err := r.stat(ctx, path); err != nil || !ok {
		return false, err
	}
	if _, err := r.debugfs(ctx, fmt.Sprintf("dump %q %q", path, dst)); err != nil {
		return false, err
	}
	if _, err := os.Stat(dst); err != nil {
		return false, fmt.Errorf("debugfs dump %s: %w", path, err)
	}
	return true, nil
}
