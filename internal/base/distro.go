package base

import (
	"fmt"
	"slices"
	"strings"
)

// ukiTool is how a distro assembles its unified kernel image from its own
// packages.
type ukiTool int

const (
	// ukify is systemd's ukify (systemd-ukify, Debian 13 and later).
	ukify ukiTool = iota
	// objcopyStub adds the sections to systemd-boot's stub with binutils'
	// objcopy at fixed addresses (Debian 12, whose systemd 252 has no ukify).
	objcopyStub
)

// distro is one supported distro release.
type distro struct {
	// name is the DISTRO argument, e.g. "debian-13".
	name string
	// suite is the Debian codename debootstrap installs, e.g. "trixie".
	suite string
	// packages are installed on top of commonPackages.
	packages []string
	// uki is how the UKI is built.
	uki ukiTool
}

// commonPackages are installed on every distro (debootstrap --include).
// debootstrap does not resolve virtual packages, so python3-cffi-backend (a
// provider of cloud-init's python3-cffi-backend-api-*) is named.
var commonPackages = []string{
	"systemd-sysv", "udev", "dbus",
	"linux-image-cloud-amd64", "initramfs-tools", "zstd", "kmod",
	"cloud-init", "python3-cffi-backend",
	// cloud-init renders its network config for systemd-networkd (part of
	// systemd), which hands DNS to systemd-resolved.
	"systemd-resolved", "iproute2",
	"openssh-server", "ca-certificates", "sudo",
	// growpart, so cloud-init grows the root partition with the disk.
	"cloud-guest-utils",
	// systemd-boot's EFI stub, the front of the unified kernel image.
	"systemd-boot-efi",
}

// distros maps the DISTRO argument to its release.
var distros = map[string]distro{
	"debian-13": {name: "debian-13", suite: "trixie", packages: []string{"systemd-ukify"}, uki: ukify},
	"debian-12": {name: "debian-12", suite: "bookworm", packages: []string{"binutils"}, uki: objcopyStub},
}

// Distros returns the supported DISTRO names, sorted.
func Distros() []string {
	names := make([]string, 0, len(distros))
	for n := range distros {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// lookupDistro returns the distro called name.
func lookupDistro(name string) (distro, error) {
	d, ok := distros[name]
	if !ok {
		return distro{}, fmt.Errorf("%w %q (want %s)", ErrUnknownDistro, name, strings.Join(Distros(), " or "))
	}
	return d, nil
}

// includes returns the packages debootstrap installs for d: the common ones,
// d's own and extra, sorted, without duplicates.
func (d distro) includes(extra []string) []string {
	all := slices.Concat(commonPackages, d.packages, extra)
	slices.Sort(all)
	return slices.Compact(all)
}
