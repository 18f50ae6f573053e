package base

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubebake/kubebake/internal/sys"
)

const testKernel = "6.12.107+deb13-cloud-amd64"

// fakeRunner plays the host commands of a build: it records each command
// and does just enough of what the real one does (a tarball, a root file
// system tree, a UKI, an image) for the build to go on. A command whose
// string contains fail fails with failOutput.
type fakeRunner struct {
	t          *testing.T
	fail       string
	failOutput string
	// keepMounts makes umount leave the mounts in place.
	keepMounts bool

	calls []string
	// mounts are the mount points the fake debootstrap leaves behind when
	// it fails (as a killed one does).
	mounts []string
	// tree is what the root file system held when mkfs.ext4 ran.
	tree map[string]string
}

func (f *fakeRunner) Run(_ context.Context, c sys.Cmd) ([]byte, error) {
	f.calls = append(f.calls, c.String())
	fail := f.fail != "" && strings.Contains(c.String(), f.fail)
	out, err := f.play(c, fail)
	if err != nil {
		f.t.Errorf("fake %s: %v", c.Name, err)
	}
	if fail {
		out = append(out, f.failOutput...)
		return out, &sys.RunError{Command: c.String(), Output: out, Inner: errors.New("exit status 1")}
	}
	return out, nil
}

// play does what the command c would do to the files.
func (f *fakeRunner) play(c sys.Cmd, fail bool) ([]byte, error) {
	args := c.Args
	switch c.Name {
	case "debootstrap":
		target := args[len(args)-2]
		if err := os.MkdirAll(filepath.Join(target, "debootstrap"), 0o755); err != nil {
			return nil, err
		}
		if fail {
			f.mounts = append(f.mounts, filepath.Join(target, "proc"))
			return nil, os.WriteFile(filepath.Join(target, "debootstrap", "debootstrap.log"),
				[]byte("dpkg: error processing package systemd (--configure):\n installed systemd package post-installation script subprocess returned error exit status 1\n"), 0o644)
		}
		for _, a := range args {
			if tarball, ok := strings.CutPrefix(a, "--make-tarball="); ok {
				if !strings.HasSuffix(tarball, ".tgz") || !filepath.IsAbs(tarball) {
					return nil, fmt.Errorf("tarball %q: want an absolute .tgz path", tarball)
				}
				if err := os.WriteFile(tarball, []byte("packages"), 0o644); err != nil {
					return nil, err
				}
				return []byte("I: Retrieving systemd\n"), os.RemoveAll(target)
			}
			if tarball, ok := strings.CutPrefix(a, "--unpack-tarball="); ok {
				if _, err := os.Stat(tarball); err != nil {
					return nil, err
				}
			}
		}
		if err := os.RemoveAll(filepath.Join(target, "debootstrap")); err != nil {
			return nil, err
		}
		return []byte("I: Base system installed successfully.\n"), writeTree(target, debootstrapped)
	case "chroot":
		root := args[0]
		if len(args) > 1 && args[1] == "update-initramfs" && !fail {
			if !slices.Contains(c.Env, "KUBEBAKE_UKI_OUTPUT="+ukiBuildOutput) {
				return nil, fmt.Errorf("update-initramfs without KUBEBAKE_UKI_OUTPUT: %v", c.Env)
			}
			uki := filepath.Join(root, ukiBuildOutput)
			if err := os.MkdirAll(filepath.Dir(uki), 0o1777); err != nil {
				return nil, err
			}
			return nil, os.WriteFile(uki, []byte("MZ unified kernel image"), 0o644)
		}
	case "mkfs.ext4":
		tree, err := readTree(args[slices.Index(args, "-d")+1])
		if err != nil {
			return nil, err
		}
		f.tree = tree
		if !fail {
			img, err := os.OpenFile(args[len(args)-1], os.O_WRONLY, 0)
			if err != nil {
				return nil, err
			}
			defer img.Close()
			_, err = img.WriteAt([]byte("ext4 superblock"), 1024)
			return nil, err
		}
	case "qemu-img":
		if !fail {
			return nil, os.WriteFile(args[len(args)-1], []byte("QFI\xfbcompressed"), 0o600)
		}
		// A failing qemu-img leaves a half-written file.
		return nil, os.WriteFile(args[len(args)-1], []byte("QFI\xfbhalf"), 0o600)
	case "umount":
		if !f.keepMounts {
			f.mounts = slices.DeleteFunc(f.mounts, func(m string) bool { return m == args[len(args)-1] })
		}
	}
	return nil, nil
}

// mountinfo is /proc/self/mountinfo with the fake's mounts.
func (f *fakeRunner) mountinfo() (string, error) {
	var b strings.Builder
	b.WriteString("22 1 0:21 / / rw - overlay overlay rw\n")
	for i, m := range f.mounts {
		fmt.Fprintf(&b, "%d 22 0:5 / %s rw - proc proc rw\n", 300+i, m)
	}
	return b.String(), nil
}

// debootstrapped is what the fake debootstrap leaves in its target: files a
// real one leaves that the build must change or remove.
var debootstrapped = map[string]string{
	"/boot/vmlinuz-" + testKernel:             "kernel",
	"/boot/initrd.img-" + testKernel:          "initrd",
	"/boot/config-" + testKernel:              "config",
	"/etc/debian_version":                     "13.7\n",
	"/etc/shadow":                             "root:$y$j9T$salt$hash:20779:0:99999:7:::\ndaemon:*:20779:0:99999:7:::\n",
	"/etc/hostname":                           "build-host\n",
	"/etc/machine-id":                         "0123456789abcdef0123456789abcdef\n",
	"/var/lib/dbus/machine-id":                "0123456789abcdef0123456789abcdef\n",
	"/etc/resolv.conf":                        "nameserver 10.0.0.1\n",
	"/etc/apt/sources.list":                   "deb http://deb.debian.org/debian trixie main\n",
	"/etc/ssh/ssh_host_ed25519_key":           "secret",
	"/etc/ssh/ssh_host_ed25519_key.pub":       "public",
	"/etc/ssh/sshd_config":                    "Include /etc/ssh/sshd_config.d/*.conf\n",
	"/var/cache/apt/archives/systemd_257.deb": "deb",
	"/var/cache/apt/pkgcache.bin":             "cache",
	"/var/lib/apt/lists/deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages": "Package: systemd\n",
	"/var/lib/apt/lists/lock": "",
	"/var/log/bootstrap.log":  "log",
	"/var/log/dpkg.log":       "log",
}

// writeTree writes files (absolute paths inside root) under root.
func writeTree(root string, files map[string]string) error {
	for p, data := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// readTree maps the files and symlinks under root (as absolute paths inside
// it) to their contents ("-> target" for a symlink); directories map to "/".
func readTree(root string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := "/" + strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		switch {
		case e.Type()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[rel] = "-> " + target
			return err
		case e.IsDir():
			out[rel] = "/"
		default:
			b, err := os.ReadFile(p)
			out[rel] = string(b)
			return err
		}
		return nil
	})
	return out, err
}
