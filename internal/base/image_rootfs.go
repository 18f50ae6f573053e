package base

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubebake/kubebake/internal/sys"
)

// download fills the package tarball cache, unless it is there already.
func (b *builder) download(ctx context.Context, j *job) error {
	if _, err := os.Stat(j.tarball); err == nil && !j.o.RefreshCache {
		j.cached = true
		fmt.Fprintf(b.log, "base: using cached packages %s\n", j.tarball)
		return nil
	}
	tmp := tarballTemp(j.tarball, b.pid)
	_ = os.Remove(tmp)
	bs := bootstrap{suite: j.d.suite, mirror: j.o.Mirror, includes: j.d.includes(j.o.Packages),
		tarball: tmp, target: filepath.Join(j.work, "download")}
	if _, err := b.run.Run(ctx, sys.Command("debootstrap", bs.downloadArgs()...)); err != nil {
		_ = os.Remove(tmp)
		return withDebootstrapLog(err, bs.target)
	}
	if err := os.Rename(tmp, j.tarball); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// debootstrap installs the system from the tarball.
func (b *builder) debootstrap(ctx context.Context, j *job) error {
	bs := bootstrap{suite: j.d.suite, mirror: j.o.Mirror, includes: j.d.includes(j.o.Packages),
		tarball: j.tarball, target: j.rootfs}
	if _, err := b.run.Run(ctx, sys.Command("debootstrap", bs.installArgs()...)); err != nil {
		return withDebootstrapLog(err, bs.target)
	}
	return nil
}

// withDebootstrapLog adds the end of debootstrap's own log, which says what
// failed inside the target, to err.
func withDebootstrapLog(err error, target string) error {
	log, rerr := os.ReadFile(filepath.Join(target, "debootstrap", "debootstrap.log"))
	if rerr != nil || len(log) == 0 {
		return err
	}
	return fmt.Errorf("%w\n%s (end):\n%s", err, filepath.Join(target, "debootstrap", "debootstrap.log"), sys.Tail(log, 30))
}

// configure turns the debootstrapped tree into a cloud image.
func (b *builder) configure(ctx context.Context, j *job) error {
	root := j.rootfs
	boot, err := os.ReadDir(filepath.Join(root, "boot"))
	if err != nil {
		return err
	}
	names := make([]string, 0, len(boot))
	for _, e := range boot {
		names = append(names, e.Name())
	}
	if j.kernel, err = kernelVersion(names); err != nil {
		return err
	}
	v, err := os.ReadFile(filepath.Join(root, "etc", "debian_version"))
	if err != nil {
		return err
	}
	j.debianVersion = strings.TrimSpace(string(v))

	for _, g := range removeGlobs {
		matches, err := filepath.Glob(filepath.Join(root, g))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if err := os.Remove(m); err != nil {
				return err
			}
		}
	}
	cfg := imageConfig{
		suite: j.d.suite, mirror: j.o.Mirror, securityMirror: j.o.SecurityMirror, noUpdates: j.o.NoUpdates,
		rootUUID: j.o.RootUUID, espPartUUID: j.ids.esp, hostname: j.o.Hostname, kernelArgs: j.o.KernelArgs, uki: j.d.uki,
	}
	for _, f := range cfg.files() {
		if err := writeImageFile(root, f); err != nil {
			return err
		}
	}
	resolv := filepath.Join(root, "etc", "resolv.conf")
	if err := os.Remove(resolv); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Symlink(resolvStub, resolv); err != nil {
		return err
	}
	shadowPath := filepath.Join(root, "etc", "shadow")
	shadow, err := os.ReadFile(shadowPath)
	if err != nil {
		return err
	}
	locked, err := lockRoot(shadow)
	if err != nil {
		return err
	}
	if err := os.WriteFile(shadowPath, locked, 0o640); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(root, espMountPoint), 0o755); err != nil {
		return err
	}
	_, err = b.run.Run(ctx, sys.Command("chroot", root, "systemctl", "enable", "systemd-networkd.service"))
	return err
}

// writeImageFile writes f under root, replacing what is there.
func writeImageFile(root string, f imageFile) error {
	p := filepath.Join(root, f.path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
		return err
	}
	return os.Chmod(p, f.mode) // not masked by the umask
}

// ukiBuildOutput is where, inside the chroot, the UKI hook writes the UKI
// during the build.
const ukiBuildOutput = "/var/tmp/kubebake-uki.efi"

// buildUKI writes the initramfs again, now that fstab and the initramfs
// configuration are in place, which runs the image's own UKI hook; then it
// moves the UKI out of the tree.
func (b *builder) buildUKI(ctx context.Context, j *job) error {
	c := sys.Command("chroot", j.rootfs, "update-initramfs", "-u", "-k", j.kernel)
	c.Env = []string{"KUBEBAKE_UKI_OUTPUT=" + ukiBuildOutput}
	if _, err := b.run.Run(ctx, c); err != nil {
		return err
	}
	j.uki = filepath.Join(j.work, "uki.efi")
	if err := os.Rename(filepath.Join(j.rootfs, ukiBuildOutput), j.uki); err != nil {
		return fmt.Errorf("UKI hook wrote no UKI: %w", err)
	}
	f, err := os.Open(j.uki)
	if err != nil {
		return err
	}
	defer f.Close()
	var magic [2]byte
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) != "MZ" {
		return fmt.Errorf("%s is not a PE image", j.uki)
	}
	j.sizes.UKI = fi.Size()
	return nil
}
