package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kubebake/kubebake/internal/shell"
	"github.com/kubebake/kubebake/internal/sys"
)

// StageRemover is a Target that removes the staging directory itself,
// instead of a script running rm -rf on it (a chroot whose stage is a
// mount point).
type StageRemover interface {
	RemoveStage(ctx context.Context, stage string) error
}

// FileLender is a Target that can show a file of this machine at dst
// without copying it (a chroot: read-only, mounted on its stage).
type FileLender interface {
	// LendFile reports false when it cannot lend to dst; the file is then
	// uploaded.
	LendFile(ctx context.Context, host, dst string) (bool, error)
}

// scratchMount is a directory of the root with a directory of this
// machine mounted on it.
type scratchMount struct {
	// rel is the directory as the steps see it, dir its path on this
	// machine and host the directory mounted there.
	rel, dir, host string
	// keep puts what the steps left there back into the root at Close;
	// otherwise it is dropped (the stage).
	keep bool
	// made is the topmost directory Open created for the mount point, if
	// any: Close removes it when nothing is put back.
	made string
	// lent are the files LendFile mounted in it (paths on this machine).
	lent []string
}

// runner is the chroot's command runner.
func (c *Chroot) runner() sys.Runner {
	if c.Runner == nil {
		return sys.Exec{}
	}
	return c.Runner
}

// mountScratch mounts a directory of HostDir on each of Scratch, holding a
// copy of what the root has there, and an empty one on Stage.
func (c *Chroot) mountScratch(ctx context.Context) error {
	if len(c.Scratch) == 0 && c.Stage == "" {
		return nil
	}
	if c.HostDir == "" {
		return errors.New("chroot: scratch directories need a HostDir")
	}
	type want struct {
		rel  string
		keep bool
	}
	var wants []want
	for _, rel := range c.Scratch {
		wants = append(wants, want{rel, true})
	}
	if c.Stage != "" {
		wants = append(wants, want{c.Stage, false})
	}
	for i, w := range wants {
		rel := filepath.Clean(w.rel)
		if !filepath.IsAbs(rel) || rel == "/" {
			return fmt.Errorf("chroot: scratch directory %q: want an absolute path below /", w.rel)
		}
		dir := filepath.Join(c.Root, rel)
		// A symbolic link on the way would take the mount out of the root:
		// such a directory stays as it is, written by the steps.
		if linked, err := hasSymlink(c.Root, rel); err != nil {
			return err
		} else if linked {
			continue
		}
		m := scratchMount{rel: rel, dir: dir, host: filepath.Join(c.HostDir, strconv.Itoa(i)), keep: w.keep}
		made, err := mkdirAllTop(dir)
		if err != nil {
			return err
		}
		m.made = made
		if err := os.MkdirAll(m.host, 0o755); err != nil {
			return err
		}
		if w.keep && made == "" {
			if _, err := c.runner().Run(ctx, sys.Command("cp", "-a", dir+"/.", m.host+"/")); err != nil {
				return fmt.Errorf("copy %s out of the root: %w", rel, err)
			}
		}
		if _, err := c.runner().Run(ctx, sys.Command("mount", "--bind", m.host, dir)); err != nil {
			if made != "" {
				_ = os.RemoveAll(made)
			}
			return fmt.Errorf("mount %s: %w", dir, err)
		}
		c.scratch = append(c.scratch, m)
	}
	return nil
}

// unmountScratch unmounts the scratch directories, puts back in the root
// what the steps left in the kept ones, and removes the host directories.
func (c *Chroot) unmountScratch(ctx context.Context) error {
	var errs []error
	for i := len(c.scratch) - 1; i >= 0; i-- {
		m := &c.scratch[i]
		if err := c.unlend(ctx, m); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := c.runner().Run(ctx, sys.Command("umount", m.dir)); err != nil {
			// Still mounted: the host directory stays, under the work directory.
			errs = append(errs, fmt.Errorf("umount %s: %w", m.dir, err))
			continue
		}
		if err := c.putBack(ctx, *m); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.RemoveAll(m.host); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 && c.HostDir != "" {
		// HostDir goes too, when nothing is left in it.
		_ = os.Remove(c.HostDir)
	}
	c.scratch = nil
	return errors.Join(errs...)
}

// putBack makes the root's directory hold what the steps left in the
// scratch directory (a kept one), or removes a mount point Open made.
func (c *Chroot) putBack(ctx context.Context, m scratchMount) error {
	if !m.keep {
		if m.made != "" {
			return os.RemoveAll(m.made)
		}
		return nil
	}
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(m.dir, e.Name())); err != nil {
			return err
		}
	}
	if _, err := c.runner().Run(ctx, sys.Command("cp", "-a", m.host+"/.", m.dir+"/")); err != nil {
		return fmt.Errorf("put %s back into the root: %w", m.rel, err)
	}
	return nil
}

// RemoveStage empties the stage when it is a scratch mount (Close drops
// it), and otherwise removes it with rm -rf in the root.
func (c *Chroot) RemoveStage(ctx context.Context, stage string) error {
	for i := range c.scratch {
		m := &c.scratch[i]
		if !m.keep && m.rel == filepath.Clean(stage) {
			if err := c.unlend(ctx, m); err != nil {
				return err
			}
			entries, err := os.ReadDir(m.host)
			if err != nil {
				return err
			}
			for _, e := range entries {
				if err := os.RemoveAll(filepath.Join(m.host, e.Name())); err != nil {
					return err
				}
			}
			return nil
		}
	}
	code, err := c.Run(ctx, "rm -rf "+shell.Quote(stage), io.Discard)
	if err == nil && code != 0 {
		err = fmt.Errorf("rm -rf exited with %d", code)
	}
	return err
}

// LendFile mounts host read-only at dst when dst is in the stage (a
// scratch mount): the staged Kubernetes binaries and image archives are
// read where they are, not copied.
func (c *Chroot) LendFile(ctx context.Context, host, dst string) (bool, error) {
	dst = filepath.Clean(dst)
	for i := range c.scratch {
		m := &c.scratch[i]
		if m.keep || !strings.HasPrefix(dst, m.rel+"/") {
			continue
		}
		p := filepath.Join(c.Root, dst)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return false, err
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return false, err
		}
		f.Close()
		if _, err := c.runner().Run(ctx, sys.Command("mount", "--bind", "-o", "ro", host, p)); err != nil {
			return false, fmt.Errorf("mount %s on %s: %w", host, dst, err)
		}
		m.lent = append(m.lent, p)
		return true, nil
	}
	return false, nil
}

// unlend unmounts the files lent to a scratch mount.
func (c *Chroot) unlend(ctx context.Context, m *scratchMount) error {
	for len(m.lent) > 0 {
		p := m.lent[len(m.lent)-1]
		if _, err := c.runner().Run(ctx, sys.Command("umount", p)); err != nil {
			return fmt.Errorf("umount %s: %w", p, err)
		}
		m.lent = m.lent[:len(m.lent)-1]
	}
	return nil
}

// hasSymlink reports whether a component of rel below root, or rel itself,
// is a symbolic link.
func hasSymlink(root, rel string) (bool, error) {
	p := root
	for _, part := range strings.Split(strings.Trim(rel, "/"), "/") {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return true, nil
		}
	}
	return false, nil
}

// mkdirAllTop is os.MkdirAll that returns the topmost directory it
// created, or "" when dir was there.
func mkdirAllTop(dir string) (string, error) {
	top := ""
	for p := dir; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		top = p
		if filepath.Dir(p) == p {
			break
		}
	}
	return top, os.MkdirAll(dir, 0o755)
}
