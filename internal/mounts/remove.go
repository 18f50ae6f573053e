package mounts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubebake/kubebake/internal/sys"
)

// ErrStillMounted means something stayed mounted below a directory that was
// to be removed; the directory is left in place.
var ErrStillMounted = errors.New("still mounted")

// System is what RemoveAll reads and runs; the zero value uses the real
// system.
type System struct {
	// Runner runs umount and losetup (default sys.Exec).
	Runner sys.Runner
	// Mountinfo returns /proc/self/mountinfo.
	Mountinfo func() (string, error)
	// Loops returns each loop device and its backing file (default: from
	// /sys/block/loop*/loop/backing_file).
	Loops func() (map[string]string, error)
}

func (s System) defaults() System {
	if s.Runner == nil {
		s.Runner = sys.Exec{}
	}
	if s.Mountinfo == nil {
		s.Mountinfo = func() (string, error) {
			b, err := os.ReadFile("/proc/self/mountinfo")
			return string(b), err
		}
	}
	if s.Loops == nil {
		s.Loops = loops
	}
	return s
}

// Check fails with ErrStillMounted when anything is mounted at or below
// dir.
func (s System) Check(dir string) error {
	s = s.defaults()
	info, err := s.Mountinfo()
	if err != nil {
		return err
	}
	if m := Under(info, dir); len(m) > 0 {
		return fmt.Errorf("%w in %s: %s", ErrStillMounted, dir, strings.Join(m, ", "))
	}
	return nil
}

// RemoveAll unmounts everything mounted at or below dir (lazily, deepest
// first), detaches the loop devices backed by files below it, and removes
// it. When a mount stays, dir is left in place and the error says what is
// mounted. It runs its commands even when ctx is done: it is what runs
// after an interrupt.
func (s System) RemoveAll(ctx context.Context, dir string) error {
	s = s.defaults()
	ctx = context.WithoutCancel(ctx)
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	info, err := s.Mountinfo()
	if err != nil {
		return fmt.Errorf("%w; left %s in place", err, dir)
	}
	for _, m := range Under(info, dir) {
		_, _ = s.Runner.Run(ctx, sys.Command("umount", "--lazy", m))
	}
	if err := s.Check(dir); err != nil {
		return fmt.Errorf("%w; left %s in place", err, dir)
	}
	devs, err := s.Loops()
	if err != nil {
		return fmt.Errorf("loop devices: %w; left %s in place", err, dir)
	}
	var errs []error
	for dev, file := range devs {
		file = strings.TrimSuffix(file, " (deleted)")
		if file == dir || strings.HasPrefix(file, dir+"/") {
			if _, err := s.Runner.Run(ctx, sys.Command("losetup", "--detach", dev)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("detach the loop devices of %s: %w", dir, err)
	}
	return os.RemoveAll(dir)
}

// loops reads each loop device's backing file from sysfs.
func loops() (map[string]string, error) {
	paths, err := filepath.Glob("/sys/block/loop*/loop/backing_file")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // detached meanwhile
		}
		dev := "/dev/" + filepath.Base(filepath.Dir(filepath.Dir(p)))
		out[dev] = strings.TrimRight(string(b), "\n")
	}
	return out, nil
}
