package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubebake/kubebake/internal/sys"
)

// Chroot is a Target that is a root filesystem on this machine: files are
// written into it and scripts run with chroot(8). Open mounts /proc, /sys (with this machine's cgroups)
// and /dev into it, stops package scripts from starting services, lends
// it this machine's resolv.conf and spares dpkg its syncs; Close undoes all
// of it. With Scratch and Stage, what the steps write there stays on this
// machine (scratch.go).
type Chroot struct {
	Root string
	// Scratch are directories of the root (as the steps see them) whose
	// writes stay off the root's file system: Open mounts a directory of
	// HostDir on each, holding a copy of what the root has there, and Close
	// unmounts it and puts back in the root what the steps left there.
	// Package downloads and lists that the seal step removes then never
	// reach the image.
	Scratch []string
	// Stage, when set, is the staging directory: Open mounts an empty
	// directory of HostDir there and Close drops it, so the staged plan
	// and inputs never reach the image.
	Stage string
	// HostDir holds the directories mounted on Scratch and Stage, on this
	// machine outside the root.
	HostDir string
	// Runner runs cp, mount and umount for Scratch and Stage (default
	// sys.Exec).
	Runner  sys.Runner
	mounted []string
	scratch []scratchMount
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
	if err := c.mountScratch(ctx); err != nil {
		c.Close()
		return err
	}
	// Package scripts must not start services in a chroot.
	// Name resolution comes from this machine, for package downloads.
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	type lentFile struct {
		rel     string
		content []byte
		mode    os.FileMode
	}
	files := []lentFile{
		{"usr/sbin/policy-rc.d", []byte("#!/bin/sh\n# kubebake: no service starts during the bake\nexit 101\n"), 0o755},
		{"etc/resolv.conf", resolv, 0o644},
	}
	// dpkg need not sync every file it unpacks: the bake syncs the file
	// system once, at its end, and a bake that fails is thrown away.
	if fi, err := os.Stat(filepath.Join(c.Root, dpkgConfDir)); err == nil && fi.IsDir() {
		files = append(files, lentFile{dpkgConfDir + "/kubebake-unsafe-io", []byte("# kubebake: the bake syncs once, at its end\nforce-unsafe-io\n"), 0o644})
	}
	for _, f := range files {
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

// Close stops whatever still runs inside the root, unmounts what Open
// mounted and removes the files it lent (service policy, resolv.conf,
// dpkg's unsafe-io).
func (c *Chroot) Close() error {
	var errs []error
	if err := killRootedIn(c.Root); err != nil {
		errs = append(errs, err)
	}
	for i := len(c.mounted) - 1; i >= 0; i-- {
		if out, err := exec.Command("umount", "--lazy", c.mounted[i]).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("umount %s: %v: %s", c.mounted[i], err, out))
		}
	}
	c.mounted = nil
	if err := c.unmountScratch(context.Background()); err != nil {
		errs = append(errs, err)
	}
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

// dpkgConfDir holds dpkg's configuration snippets in a Debian root.
const dpkgConfDir = "etc/dpkg/dpkg.cfg.d"

// stepGrace is how long a cancelled step's processes have between SIGTERM
// (which lets its traps stop the daemons it started) and SIGKILL.
const stepGrace = 10 * time.Second

// Run runs the script inside the root with a clean environment, in a
// process group of its own: a cancelled ctx sends the group SIGTERM (so the
// script's traps can stop what it started), then SIGKILL after stepGrace;
// whatever the script left running in its group (a daemon started in the
// background) is killed when the script ends.
func (c *Chroot) Run(ctx context.Context, script string, out io.Writer) (int, error) {
	cmd := exec.CommandContext(ctx, "chroot", c.Root, "/usr/bin/env", "-i",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8",
		"bash", "-c", script)
	// The output goes through a pipe of our own, so that Wait returns when
	// the script ends, not when the last process holding the pipe does.
	pr, pw, err := os.Pipe()
	if err != nil {
		return -1, err
	}
	defer pr.Close()
	cmd.Stdout, cmd.Stderr = pw, pw
	sys.EndGroupOnCancel(cmd, stepGrace)
	if err := cmd.Start(); err != nil {
		pw.Close()
		return -1, fmt.Errorf("chroot %s: %w", c.Root, err)
	}
	pw.Close()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(out, pr)
	}()
	err = cmd.Wait()
	_ = sys.KillGroup(cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
		// A process outside the group holds the pipe (Close kills it):
		// stop reading.
		pr.Close()
		<-copied
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return -1, fmt.Errorf("chroot %s: %w", c.Root, err)
	}
	return 0, nil
}

// killRootedIn kills (SIGKILL) every process whose root directory is root
// or below it, and waits up to ten seconds for them to go: a daemon a step
// started that outlived its step would keep the root's file system busy,
// and with it the loop device under it.
func killRootedIn(root string) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := rootedIn(root)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still run in %s", pids, root)
		}
		for _, pid := range pids {
			_ = sys.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rootedIn lists the processes whose root directory is root or below it.
func rootedIn(root string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		r, err := os.Readlink(filepath.Join("/proc", e.Name(), "root"))
		if err == nil && (r == root || strings.HasPrefix(r, root+"/")) {
			pids = append(pids, pid)
		}
	}
	return pids
}
