package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Chroot is a Target that is a root filesystem on this machine: files are
// written into it and scripts run with chroot(8). Open mounts /proc, /sys (with this machine's cgroups)
// and /dev into it, stops package scripts from starting services and lends
// it this machine's resolv.conf; Close undoes all of it.
type Chroot struct {
	Root    string
	mounted []string
	swapped []string // files set aside by Open, restored by Close
}

// setAside moves the root's own copy of rel out of the way, to be restored
// by Close.
func (c *Chroot) setAside(rel string) error {
	p := filepath.Join(c.Root, rel)
	if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
		c.swapped = append(c.swapped, rel)
		return nil
	}
	if err := os.Rename(p, p+".kubebake-orig"); err != nil {
		return err
	}
	c.swapped = append(c.swapped, rel)
	return nil
}

// Open prepares the root for running steps.
func (c *Chroot) Open(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return errors.New("chroot mode needs root")
	}
	for _, m := range []struct{ dir, fstype, src string }{
		{"proc", "proc", "proc"}, {"sys", "sysfs", "sysfs"}, {"dev", "", "/dev"}, {"dev/pts", "devpts", "devpts"},
	} {
		dst := filepath.Join(c.Root, m.dir)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
		args := []string{"-t", m.fstype, m.src, dst}
		if m.fstype == "" {
			args = []string{"--bind", m.src, dst}
		}
		if out, err := exec.CommandContext(ctx, "mount", args...).CombinedOutput(); err != nil {
			c.Close()
			return fmt.Errorf("mount %s: %v: %s", dst, err, out)
		}
		c.mounted = append(c.mounted, dst)
	}
	// dockerd refuses to start without cgroups, which a fresh sysfs lacks:
	// lend it this machine's hierarchy (v1 or v2), when there is one.
	if fi, err := os.Stat("/sys/fs/cgroup"); err == nil && fi.IsDir() {
		dst := filepath.Join(c.Root, "sys/fs/cgroup")
		if out, err := exec.CommandContext(ctx, "mount", "--rbind", "/sys/fs/cgroup", dst).CombinedOutput(); err != nil {
			c.Close()
			return fmt.Errorf("mount %s: %v: %s", dst, err, out)
		}
		c.mounted = append(c.mounted, dst)
	}
	// Package scripts must not start services in a chroot.
	// Name resolution comes from this machine, for package downloads.
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	for _, f := range []struct {
		rel     string
		content []byte
		mode    os.FileMode
	}{
		{"usr/sbin/policy-rc.d", []byte("#!/bin/sh\n# kubebake: no service starts during the bake\nexit 101\n"), 0o755},
		{"etc/resolv.conf", resolv, 0o644},
	} {
		if err := c.setAside(f.rel); err != nil {
			c.Close()
			return err
		}
		if err := os.WriteFile(filepath.Join(c.Root, f.rel), f.content, f.mode); err != nil {
			c.Close()
			return err
		}
	}
	return nil
}

// Close unmounts what Open mounted and removes the service policy.
func (c *Chroot) Close() error {
	var errs []error
	for i := len(c.mounted) - 1; i >= 0; i-- {
		if out, err := exec.Command("umount", "--lazy", c.mounted[i]).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("umount %s: %v: %s", c.mounted[i], err, out))
		}
	}
	c.mounted = nil
	for _, rel := range c.swapped {
		p := filepath.Join(c.Root, rel)
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		if err := os.Rename(p+".kubebake-orig", p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	c.swapped = nil
	return errors.Join(errs...)
}

// Upload writes the file into the root.
func (c *Chroot) Upload(_ context.Context, dst string, content io.Reader, _ int64, mode os.FileMode) error {
	p := filepath.Join(c.Root, dst)
	if !strings.HasPrefix(p, filepath.Clean(c.Root)+string(os.PathSeparator)) {
		return fmt.Errorf("%s is outside the root", dst)
	}
	return writeFile(p, content, mode)
}

// writeFile writes content to p with mode (whatever the umask), creating
// its directories.
func writeFile(p string, content io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, content); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Run runs the script inside the root with a clean environment.
func (c *Chroot) Run(ctx context.Context, script string, out io.Writer) (int, error) {
	cmd := exec.CommandContext(ctx, "chroot", c.Root, "/usr/bin/env", "-i",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8",
		"bash", "-c", script)
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return -1, fmt.Errorf("chroot %s: %w", c.Root, err)
	}
	return 0, nil
}
