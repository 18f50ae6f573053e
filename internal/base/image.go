package base

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubebake/kubebake/internal/mounts"
	"github.com/kubebake/kubebake/internal/sys"
)

// builder is one build, with the host behind fields tests replace.
type builder struct {
	run       sys.Runner
	log       io.Writer
	euid      func() int
	lookPath  func(string) (string, error)
	mountinfo func() (string, error)
	now       func() time.Time
	pid       int

	stages []Stage
}

// hostTools are the host programs a build runs, and their Debian packages.
var hostTools = []struct{ program, pkg string }{
	{"debootstrap", "debootstrap"},
	{"chroot", "coreutils"},
	{"mkfs.ext4", "e2fsprogs"},
	{"qemu-img", "qemu-utils"},
	{"umount", "mount"},
}

// build is Build with the builder's host.
func (b *builder) build(ctx context.Context, o Options) (m *Manifest, err error) {
	o = o.withDefaults()
	d, layout, err := validate(o)
	if err != nil {
		return nil, err
	}
	if b.euid() != 0 {
		return nil, ErrNotRoot
	}
	if err := b.checkTools(); err != nil {
		return nil, err
	}
	outDir := filepath.Dir(o.Output)
	if fi, err := os.Stat(outDir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("output directory %s: does not exist", outDir)
	}
	if o.RootUUID == "" {
		o.RootUUID = newUUID()
	}
	cacheDir, err := filepath.Abs(o.CacheDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	work, err := os.MkdirTemp(o.WorkDir, "kubebake-base-")
	if err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	if work, err = filepath.Abs(work); err != nil {
		return nil, err
	}
	fmt.Fprintf(b.log, "base: building %s (%s) in %s\n", d.name, d.suite, work)
	defer func() {
		if o.KeepWorkDir {
			fmt.Fprintf(b.log, "base: kept work directory %s\n", work)
			return
		}
		if cerr := b.cleanup(context.WithoutCancel(ctx), work); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()

	j := &job{
		o:       o,
		d:       d,
		layout:  layout,
		ids:     diskIDs{disk: newUUID(), esp: newUUID(), root: newUUID()},
		work:    work,
		rootfs:  filepath.Join(work, "rootfs"),
		tarball: filepath.Join(cacheDir, tarballName(d, o.Mirror, d.includes(o.Packages))),
	}
	steps := []struct {
		name string
		fn   func(context.Context, *job) error
	}{
		{"download", b.download},
		{"debootstrap", b.debootstrap},
		{"configure", b.configure},
		{"uki", b.buildUKI},
		{"mkfs", b.mkfs},
		{"disk", b.assemble},
		{"convert", b.convert},
	}
	for _, s := range steps {
		if err := b.stage(ctx, s.name, j, s.fn); err != nil {
			return nil, err
		}
	}
	return j.manifest, nil
}

// job is the state one build's stages share.
type job struct {
	o       Options
	d       distro
	layout  Layout
	ids     diskIDs
	work    string
	rootfs  string
	tarball string

	kernel, debianVersion string
	uki                   string
	rootImage             string
	raw                   string
	sizes                 Sizes
	cached                bool
	manifest              *Manifest
}

// stage runs one stage, logging and recording its duration.
func (b *builder) stage(ctx context.Context, name string, j *job, fn func(context.Context, *job) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	start := b.now()
	fmt.Fprintf(b.log, "base: %s\n", name)
	j.cached = false
	if err := fn(ctx, j); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	took := b.now().Sub(start)
	b.stages = append(b.stages, Stage{Name: name, Seconds: seconds(took), Cached: j.cached})
	note := ""
	if j.cached {
		note = " (cached)"
	}
	fmt.Fprintf(b.log, "base: %s done in %s%s\n", name, took.Round(100*time.Millisecond), note)
	return nil
}

// seconds is d in seconds, to the millisecond.
func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1000) / 1000
}

// checkTools reports every missing host program with its package.
func (b *builder) checkTools() error {
	var missing []string
	for _, t := range hostTools {
		if _, err := b.lookPath(t.program); err != nil {
			missing = append(missing, fmt.Sprintf("%s (apt-get install %s)", t.program, t.pkg))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrMissingTools, strings.Join(missing, ", "))
	}
	return nil
}

// mounts is how the build sees and undoes mounts; it makes no loop
// devices.
func (b *builder) mounts() mounts.System {
	return mounts.System{Runner: b.run, Mountinfo: b.mountinfo, Loops: func() (map[string]string, error) { return nil, nil }}
}

// checkNoMounts fails when anything is mounted at or below dir.
func (b *builder) checkNoMounts(dir string) error { return b.mounts().Check(dir) }

// cleanup unmounts what a killed debootstrap left mounted in work, then
// removes work; with a mount left, work stays, since removing it would reach
// into the mounted file system.
func (b *builder) cleanup(ctx context.Context, work string) error {
	if err := b.mounts().RemoveAll(ctx, work); err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	return nil
}
