package base

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"text/template"
)

// Paths inside the image.
const (
	// espMountPoint is where the ESP is mounted in the running system.
	espMountPoint = "/boot/efi"
	// ukiPath is the UKI on the ESP, the removable-media default path that
	// firmware boots with no boot entry.
	ukiPath = "/EFI/BOOT/BOOTX64.EFI"
	// ukiHookPath is the initramfs-tools hook that rebuilds the UKI.
	ukiHookPath = "/etc/initramfs/post-update.d/zz-kubebake-uki"
	// ukiStub is systemd-boot's EFI stub (systemd-boot-efi).
	ukiStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
	// kernelCmdlinePath holds the kernel command line the UKI carries.
	kernelCmdlinePath = "/etc/kernel/cmdline"
	// resolvStub is where /etc/resolv.conf points: systemd-resolved's stub.
	resolvStub = "../run/systemd/resolve/stub-resolv.conf"
	// archiveKeyring is debian-archive-keyring's keyring.
	archiveKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
)

// imageConfig is what the image's configuration files are rendered from.
type imageConfig struct {
	suite string
	// mirror is the Debian mirror apt uses.
	mirror string
	// securityMirror is the Debian security mirror; empty leaves it out.
	securityMirror string
	// noUpdates leaves the SUITE-updates suite out of apt's sources.
	noUpdates bool
	// rootUUID is the root ext4 file system's UUID.
	rootUUID string
	// espPartUUID is the ESP's GPT partition GUID.
	espPartUUID string
	// hostname is the /etc/hostname placeholder, replaced by cloud-init.
	hostname string
	// kernelArgs are added to the kernel command line.
	kernelArgs []string
	// uki is how the UKI hook builds the UKI.
	uki ukiTool
}

// imageFile is a file written into the root file system.
type imageFile struct {
	// path is absolute inside the image.
	path string
	mode fs.FileMode
	data string
}

// files returns the files to write into the image, in order.
func (c imageConfig) files() []imageFile {
	return []imageFile{
		{"/etc/fstab", 0o644, fstab(c.rootUUID, c.espPartUUID)},
		{"/etc/hostname", 0o644, c.hostname + "\n"},
		{"/etc/hosts", 0o644, hosts},
		// Empty: systemd makes a new machine ID at first boot.
		{"/etc/machine-id", 0o444, ""},
		{"/etc/apt/sources.list.d/debian.sources", 0o644, aptSources(c.suite, c.mirror, c.securityMirror, c.noUpdates)},
		{"/etc/cloud/cloud.cfg.d/90_kubebake.cfg", 0o644, cloudConfig},
		{kernelCmdlinePath, 0o644, kernelCmdline(c.rootUUID, c.kernelArgs) + "\n"},
		// The root's type for initramfs-tools' fsck hook, which otherwise
		// asks blkid about a root device that does not exist yet.
		{"/etc/initramfs-tools/conf.d/kubebake-fstype.conf", 0o644, "FSTYPE=ext4\n"},
		{ukiHookPath, 0o755, ukiHook(c.uki)},
	}
}

// removeGlobs are removed from the image: SSH host keys (cloud-init makes
// new ones at first boot), D-Bus's copy of the machine ID, debootstrap's
// sources.list (replaced by debian.sources) and apt's caches.
var removeGlobs = []string{
	"/etc/ssh/ssh_host_*",
	"/var/lib/dbus/machine-id",
	"/etc/apt/sources.list",
	"/var/cache/apt/archives/*.deb",
	"/var/cache/apt/*.bin",
	"/var/lib/apt/lists/*_*",
	"/var/log/bootstrap.log",
}

// kernelCmdline is the kernel command line: root by file system UUID, and the
// serial console last, so /dev/console (and cloud-init's messages) go to
// ttyS0.
func kernelCmdline(rootUUID string, extra []string) string {
	args := []string{"root=UUID=" + rootUUID, "ro", "console=tty0", "console=ttyS0,115200n8"}
	return strings.Join(append(args, extra...), " ")
}

// fstab mounts root by file system UUID and the ESP by partition GUID (its
// FAT volume ID is not known before go-diskfs makes it). The ESP is not
// checked at boot and may fail to mount without stopping the boot.
func fstab(rootUUID, espPartUUID string) string {
	return "# /etc/fstab: written by kubebake base.\n" +
		"# <file system> <mount point> <type> <options> <dump> <pass>\n" +
		"UUID=" + rootUUID + " / ext4 errors=remount-ro 0 1\n" +
		"PARTUUID=" + espPartUUID + " " + espMountPoint + " vfat umask=0077,nofail 0 0\n"
}

// hosts is /etc/hosts; cloud-init leaves it alone by default.
const hosts = `127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
`

// cloudConfig is cloud-init's drop-in: the data sources to look for (on one
// line, which ds-identify needs), the C.UTF-8 locale, which glibc has built
// in (there is no locales package to generate others; Debian 12's cloud-init
// fails its locale module on the default en_US.UTF-8), and systemd-networkd
// for the network.
const cloudConfig = `# Written by kubebake base.
datasource_list: [ NoCloud, ConfigDrive, None ]
locale: C.UTF-8
system_info:
  network:
    renderers: [ networkd ]
    activators: [ networkd ]
`

// aptSources is /etc/apt/sources.list.d/debian.sources (deb822) for suite on
// mirror, with SUITE-updates unless noUpdates, and SUITE-security on
// securityMirror unless that is empty.
func aptSources(suite, mirror, securityMirror string, noUpdates bool) string {
	suites := suite
	if !noUpdates {
		suites += " " + suite + "-updates"
	}
	var b strings.Builder
	b.WriteString("# Written by kubebake base.\n")
	fmt.Fprintf(&b, "Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n", mirror, suites, archiveKeyring)
	if securityMirror != "" {
		fmt.Fprintf(&b, "\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n",
			securityMirror, suite, archiveKeyring)
	}
	return b.String()
}

// ukiHookTemplate is the initramfs-tools post-update hook that builds the UKI.
// The build runs update-initramfs in the chroot with KUBEBAKE_UKI_OUTPUT set,
// which runs the hook; in the running system the hook rebuilds the UKI on the
// ESP whenever initramfs-tools writes an initramfs for the newest kernel (a
// kernel upgrade, or update-initramfs -u), so the firmware boots the newest
// kernel with the current /etc/kernel/cmdline.
var ukiHookTemplate = template.Must(template.New("hook").Parse(`#!/bin/sh
# Written by kubebake base. initramfs-tools runs this with VERSION INITRAMFS
# after it writes an initramfs. For the newest installed kernel, it rebuilds
# the unified kernel image that the firmware boots,
# {{.ESP}}{{.UKI}}, from the kernel, the initramfs and
# {{.Cmdline}}. KUBEBAKE_UKI_OUTPUT, when set, is the file to write
# instead.
set -eu
version="$1"
initrd="${2:-/boot/initrd.img-$version}"
out="${KUBEBAKE_UKI_OUTPUT:-}"
if [ -z "$out" ]; then
	newest="$(linux-version list | linux-version sort | tail -n 1)"
	if [ "$version" != "$newest" ]; then
		echo "kubebake-uki: $version is not the newest kernel ($newest); UKI left as is" >&2
		exit 0
	fi
	if ! mountpoint -q {{.ESP}}; then
		echo "kubebake-uki: {{.ESP}} is not mounted; UKI not updated" >&2
		exit 0
	fi
	out="{{.ESP}}{{.UKI}}"
fi
rm -f "$out.new"
{{.Build}}
mv "$out.new" "$out"
echo "kubebake-uki: wrote $out for $version" >&2
`))

// ukiBuild is the command, per tool, that writes "$out.new".
var ukiBuild = map[ukiTool]string{
	ukify: `ukify build \
	--linux="/boot/vmlinuz-$version" \
	--initrd="$initrd" \
	--cmdline=@` + kernelCmdlinePath + ` \
	--os-release=@/etc/os-release \
	--uname="$version" \
	--stub=` + ukiStub + ` \
	--output="$out.new" >&2`,
	// The section addresses are those systemd 252's documentation gives for
	// its stub (which ends below 0x20000), but the initramfs goes right after
	// the kernel, at the next 4 KiB, since Debian 12's kernel is 14 MB and
	// the documented 0x3000000 leaves only 16 MiB.
	objcopyStub: `linux_size="$(stat -c %s "/boot/vmlinuz-$version")"
initrd_vma="$(printf '0x%x' $((0x2000000 + (linux_size + 0xfff) / 0x1000 * 0x1000)))"
objcopy \
	--add-section .osrel=/etc/os-release --change-section-vma .osrel=0x20000 \
	--add-section .cmdline=` + kernelCmdlinePath + ` --change-section-vma .cmdline=0x30000 \
	--add-section .linux="/boot/vmlinuz-$version" --change-section-vma .linux=0x2000000 \
	--add-section .initrd="$initrd" --change-section-vma .initrd="$initrd_vma" \
	` + ukiStub + ` "$out.new"`,
}

// ukiHook renders the UKI hook for tool.
func ukiHook(tool ukiTool) string {
	build, ok := ukiBuild[tool]
	if !ok {
		panic(fmt.Sprintf("base: no UKI build command for tool %d", tool))
	}
	var b bytes.Buffer
	err := ukiHookTemplate.Execute(&b, struct{ ESP, UKI, Cmdline, Build string }{
		espMountPoint, ukiPath, kernelCmdlinePath, build})
	if err != nil {
		panic(fmt.Sprintf("base: render UKI hook: %v", err))
	}
	return b.String()
}

// lockRoot returns /etc/shadow with root's password field set to "*": no
// password, and no password login.
func lockRoot(shadow []byte) ([]byte, error) {
	lines := strings.SplitAfter(string(shadow), "\n")
	for i, l := range lines {
		entry, nl := strings.CutSuffix(l, "\n")
		fields := strings.Split(entry, ":")
		if fields[0] != "root" {
			continue
		}
		if len(fields) < 3 {
			return nil, errors.New("/etc/shadow: malformed root entry")
		}
		fields[1] = "*"
		lines[i] = strings.Join(fields, ":")
		if nl {
			lines[i] += "\n"
		}
		return []byte(strings.Join(lines, "")), nil
	}
	return nil, errors.New("/etc/shadow: no root entry")
}

// kernelVersion returns the version of the one kernel among the names of
// /boot's files.
func kernelVersion(bootFiles []string) (string, error) {
	var versions []string
	for _, n := range bootFiles {
		if v, ok := strings.CutPrefix(n, "vmlinuz-"); ok && v != "" {
			versions = append(versions, v)
		}
	}
	switch len(versions) {
	case 1:
		return versions[0], nil
	case 0:
		return "", errors.New("no kernel (/boot/vmlinuz-*) in the root file system")
	default:
		return "", fmt.Errorf("more than one kernel in /boot: %s", strings.Join(versions, ", "))
	}
}
