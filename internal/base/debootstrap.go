package base

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"strings"
)

// arch is the only architecture built so far.
const arch = "amd64"

// bootstrap is one debootstrap run's inputs.
type bootstrap struct {
	suite    string
	mirror   string
	includes []string
	// tarball is the package tarball debootstrap writes (download) or
	// reads (install); an absolute path ending in .tgz.
	tarball string
	// target is the directory debootstrap works in.
	target string
}

// commonArgs are the options both debootstrap runs share: the same variant
// and packages, so the tarball holds exactly what the install needs.
func (b bootstrap) commonArgs() []string {
	return []string{
		"--variant=minbase",
		"--arch=" + arch,
		"--components=main",
		"--include=" + strings.Join(b.includes, ","),
	}
}

// downloadArgs are the arguments of the debootstrap run that only downloads
// the packages into b.tarball; b.target is scratch space it deletes.
func (b bootstrap) downloadArgs() []string {
	args := b.commonArgs()
	args = append(args, "--make-tarball="+b.tarball, b.suite, b.target, b.mirror)
	return args
}

// installArgs are the arguments of the debootstrap run that installs the
// system into b.target from b.tarball, with no download.
func (b bootstrap) installArgs() []string {
	args := b.commonArgs()
	args = append(args, "--unpack-tarball="+b.tarball, b.suite, b.target, b.mirror)
	return args
}

// tarballName is the cache file name of a package tarball: distro, suite and
// a hash of everything that changes its content (suite, architecture, mirror
// and package list), so another mirror or package set never reuses it.
func tarballName(d distro, mirror string, includes []string) string {
	h := sha256.New()
	for _, s := range []string{d.suite, arch, strings.TrimRight(mirror, "/"), strings.Join(includes, ",")} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return d.name + "-" + d.suite + "-" + hex.EncodeToString(h.Sum(nil))[:12] + ".tgz"
}

// tarballTemp is where the download run of process pid writes before the
// tarball is renamed into place; debootstrap wants a .tgz name.
func tarballTemp(final string, pid int) string {
	name := strings.TrimSuffix(filepath.Base(final), ".tgz")
	return filepath.Join(filepath.Dir(final), "."+name+"."+strconv.Itoa(pid)+".partial.tgz")
}
