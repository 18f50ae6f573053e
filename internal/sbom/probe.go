package sbom

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/kubebake/kubebake/internal/shell"
	"github.com/kubebake/kubebake/recipes"
)

// BinarySpec is a binary the probe looks for.
type BinarySpec struct {
	Name string
	// VersionArgs make the binary print its version; none: it has no
	// such option.
	VersionArgs []string
	// VersionOf names another binary whose version this one shares
	// (pinns is built with crio).
	VersionOf string
	// Required makes a missing binary an error.
	Required bool
}

// Probe gathers an image's Inventory on the provisioned machine: Script
// runs there as root (in the chroot or over SSH), Parse reads what it
// printed. The runtime's store is not part of it: the images step records
// that (/etc/kubebake/images.json).
type Probe struct {
	// Format is the package database to read: deb (dpkg) or rpm.
	Format   string
	Binaries []BinarySpec
}

// ProbeFor is the probe of an image of a distro family (its RepoFormat:
// deb or rpm) with a runtime: Kubernetes' binaries, the runtime's daemons
// and local binaries (and cri-dockerd), and the OCI runtimes and monitor
// that are there.
func ProbeFor(family recipes.Family, runtime string) (Probe, error) {
	fam, ok := recipes.LookupFamily(family)
	if !ok {
		return Probe{}, fmt.Errorf("sbom: distro family %q is none kubebake knows", family)
	}
	kind, ok := recipes.LookupRuntime(runtime)
	if !ok {
		return Probe{}, fmt.Errorf("sbom: runtime %q is none kubebake knows", runtime)
	}
	p := Probe{Format: fam.RepoFormat, Binaries: []BinarySpec{
		{Name: "kubeadm", VersionArgs: []string{"version", "-o", "short"}, Required: true},
		{Name: "kubelet", VersionArgs: []string{"--version"}, Required: true},
		{Name: "kubectl", VersionArgs: []string{"version", "--client"}, Required: true},
		{Name: "crictl", VersionArgs: []string{"--version"}, Required: true},
	}}
	seen := map[string]bool{"kubeadm": true, "kubelet": true, "kubectl": true, "crictl": true}
	addBin := func(b BinarySpec) {
		if !seen[b.Name] {
			seen[b.Name] = true
			p.Binaries = append(p.Binaries, b)
		}
	}
	for _, d := range kind.Daemons {
		addBin(BinarySpec{Name: d.Command[0], VersionArgs: []string{"--version"}, Required: true})
	}
	for _, name := range kind.LocalBinaries {
		// CRI-O's binaries besides crio (pinns) print no version of their own.
		addBin(BinarySpec{Name: name, VersionOf: kind.Daemons[0].Command[0]})
	}
	if kind.CriDockerd {
		addBin(BinarySpec{Name: "cri-dockerd", VersionArgs: []string{"--version"}, Required: true})
	}
	for _, name := range []string{"runc", "crun", "conmon"} {
		addBin(BinarySpec{Name: name, VersionArgs: []string{"--version"}})
	}
	return p, nil
}

// DpkgQueryFormat is dpkg-query's -f: status, name, version, architecture.
const DpkgQueryFormat = `${db:Status-Status}\t${Package}\t${Version}\t${Architecture}\n`

// RPMQueryFormat is rpm's --qf: name, epoch (0 for none), version,
// release, architecture.
const RPMQueryFormat = `%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n`

// Section markers of the probe's output.
const (
	markOS       = "@os-release"
	markPackages = "@packages"
	markBinaries = "@binaries"
	markEnd      = "@end"
)

// Script is the bash script that prints the inventory: /etc/os-release's
// ID and VERSION_ID, the package database, and per binary its name,
// resolved path, sha256 and version output, in sections. Errors go to
// standard error (fd 3 keeps it while the commands' own chatter is
// dropped) with a non-zero exit.
func (p Probe) Script() (string, error) {
	var s strings.Builder
	s.WriteString(`set -u
exec 3>&2 2>/dev/null
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
fail() { echo "inventory: $*" >&3; exit 1; }
echo ` + markOS + `
for f in /etc/os-release /usr/lib/os-release; do
  # shellcheck disable=SC1090
  if [ -r "$f" ]; then (. "$f"; printf '%s\t%s\n' "${ID:-}" "${VERSION_ID:-}"); break; fi
done
`)
	fmt.Fprintf(&s, "echo '%s %s'\n", markPackages, p.Format)
	switch p.Format {
	case FormatDeb:
		fmt.Fprintf(&s, "out=$(dpkg-query -W -f=%s 2>&1) || fail \"dpkg-query: $out\"\n", shell.Quote(DpkgQueryFormat))
	case FormatRPM:
		fmt.Fprintf(&s, "out=$(rpm -qa --qf %s 2>&1) || fail \"rpm -qa: $out\"\n", shell.Quote(RPMQueryFormat))
	default:
		return "", fmt.Errorf("sbom: package format %q: want deb or rpm", p.Format)
	}
	s.WriteString(`printf '%s\n' "$out"
bin() { # NAME REQUIRED [VERSION-ARGS...]
  local name=$1 required=$2 p sum v=""; shift 2
  if ! p=$(command -v "$name"); then
    if [ "$required" = 1 ]; then fail "$name: not found in the image"; fi
    return 0
  fi
  p=$(readlink -f "$p") || fail "readlink -f $p"
  sum=$(sha256sum "$p") || fail "sha256sum $p"
  if [ $# -gt 0 ]; then v=$(timeout 30 "$p" "$@" </dev/null 2>&1 | head -c 400 | tr '\t\r\n' '   '); fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$p" "${sum%% *}" "$v"
}
echo ` + markBinaries + "\n")
	for _, b := range p.Binaries {
		req := "0"
		if b.Required {
			req = "1"
		}
		s.WriteString("bin " + shell.Quote(b.Name) + " " + req)
		for _, a := range b.VersionArgs {
			s.WriteString(" " + shell.Quote(a))
		}
		s.WriteString("\n")
	}
	s.WriteString("echo " + markEnd + "\n")
	return s.String(), nil
}

// Parse reads what Script printed. Lines before its first section (a
// shell's or sudo's chatter) are ignored; inside the sections every line
// must be whole, and the output must reach its end marker.
func (p Probe) Parse(out []byte) (Inventory, error) {
	var inv Inventory
	section := ""
	var pkgs bytes.Buffer
	ended := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == markOS, line == markBinaries:
			section = line
			continue
		case strings.HasPrefix(line, markPackages+" "):
			if f := strings.TrimPrefix(line, markPackages+" "); f != p.Format {
				return inv, fmt.Errorf("line %d: package format %q, want %q", n, f, p.Format)
			}
			section = markPackages
			continue
		case line == markEnd:
			ended = true
		}
		if ended {
			break
		}
		switch section {
		case markOS:
			id, ver, _ := strings.Cut(line, "\t")
			inv.OS = OS{ID: id, VersionID: ver}
		case markPackages:
			pkgs.WriteString(line + "\n")
		case markBinaries:
			f := strings.Split(line, "\t")
			if len(f) != 4 || !sha256RE.MatchString(f[2]) || !strings.HasPrefix(f[1], "/") {
				return inv, fmt.Errorf("line %d: want NAME PATH SHA256 VERSION-OUTPUT, got %q", n, line)
			}
			inv.Binaries = append(inv.Binaries, Binary{Name: f[0], Path: f[1], SHA256: f[2], Version: ParseVersion(f[3])})
		}
	}
	if err := sc.Err(); err != nil {
		return inv, err
	}
	if !ended {
		return inv, fmt.Errorf("the output ended before %s (section %q)", markEnd, section)
	}
	var err error
	switch p.Format {
	case FormatDeb:
		inv.Packages, err = ParseDpkgQuery(pkgs.Bytes())
	case FormatRPM:
		inv.Packages, err = ParseRPMQuery(pkgs.Bytes())
	}
	if err != nil {
		return inv, err
	}
	if len(inv.Packages) == 0 {
		return inv, fmt.Errorf("the package database lists no installed package")
	}
	versions := map[string]string{}
	for _, b := range inv.Binaries {
		versions[b.Name] = b.Version
	}
	for _, spec := range p.Binaries {
		for i := range inv.Binaries {
			if inv.Binaries[i].Name == spec.Name && spec.VersionOf != "" {
				inv.Binaries[i].Version = versions[spec.VersionOf]
			}
		}
	}
	return inv, nil
}

// DefaultVersions sets the version of each binary that printed none to the
// one given by name (what the plan installed).
func (inv *Inventory) DefaultVersions(byName map[string]string) {
	for i, b := range inv.Binaries {
		if b.Version == "" {
			inv.Binaries[i].Version = byName[b.Name]
		}
	}
}

// dpkgInstalled says whether a dpkg status (the third word of Status:)
// leaves the package's files on the disk.
func dpkgInstalled(status string) bool {
	switch status {
	case "installed", "unpacked", "half-configured", "triggers-awaited", "triggers-pending":
		return true
	}
	return false
}

// ParseDpkgQuery reads `dpkg-query -W -f=DpkgQueryFormat`: the packages
// whose files are installed.
func ParseDpkgQuery(b []byte) ([]Package, error) {
	var out []Package
	for n, line := range lines(b) {
		f := strings.Split(line, "\t")
		if len(f) != 4 || f[1] == "" {
			return nil, fmt.Errorf("dpkg-query line %d: want STATUS NAME VERSION ARCH, got %q", n+1, line)
		}
		if dpkgInstalled(f[0]) {
			out = append(out, Package{Format: FormatDeb, Name: f[1], Version: f[2], Arch: f[3]})
		}
	}
	return out, nil
}

// ParseDpkgStatus reads dpkg's database (/var/lib/dpkg/status): the
// packages whose files are installed, as ParseDpkgQuery lists them.
func ParseDpkgStatus(b []byte) ([]Package, error) {
	var out []Package
	for i, stanza := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n\n") {
		if strings.TrimSpace(stanza) == "" {
			continue
		}
		fields := map[string]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if line == "" || line[0] == ' ' || line[0] == '\t' {
				continue // a continuation line of a multi-line field
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("dpkg status stanza %d: %q is no field", i+1, line)
			}
			fields[k] = strings.TrimSpace(v)
		}
		if fields["Package"] == "" {
			return nil, fmt.Errorf("dpkg status stanza %d: no Package field", i+1)
		}
		status := strings.Fields(fields["Status"])
		if len(status) != 3 {
			return nil, fmt.Errorf("dpkg status: package %s: Status %q: want WANT FLAG STATUS", fields["Package"], fields["Status"])
		}
		if dpkgInstalled(status[2]) {
			out = append(out, Package{Format: FormatDeb, Name: fields["Package"], Version: fields["Version"], Arch: fields["Architecture"]})
		}
	}
	return out, nil
}

// ParseRPMQuery reads `rpm -qa --qf RPMQueryFormat`; the version becomes
// [EPOCH:]VERSION-RELEASE. The gpg-pubkey entries (keys, not software)
// are left out.
func ParseRPMQuery(b []byte) ([]Package, error) {
	var out []Package
	for n, line := range lines(b) {
		f := strings.Split(line, "\t")
		if len(f) != 5 || f[0] == "" {
			return nil, fmt.Errorf("rpm query line %d: want NAME EPOCH VERSION RELEASE ARCH, got %q", n+1, line)
		}
		if f[0] == "gpg-pubkey" {
			continue
		}
		v := f[2] + "-" + f[3]
		if f[1] != "0" && f[1] != "" {
			v = f[1] + ":" + v
		}
		out = append(out, Package{Format: FormatRPM, Name: f[0], Version: v, Arch: f[4]})
	}
	return out, nil
}

// lines splits output into its non-empty lines.
func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}

var (
	versionRE     = regexp.MustCompile(`(?:^|[\s:=(])(v?[0-9]+(?:\.[0-9]+)+(?:[-+~][0-9A-Za-z.+~-]*)?)`)
	versionWordRE = regexp.MustCompile(`(?i)version`)
)

// ParseVersion finds the version in what a binary printed for its version
// option: the first version-like token after the word "version" when
// there is one (crio, runc, kubectl), else the first (kubeadm's "v1.36.3",
// kubelet's "Kubernetes v1.36.3", containerd's "containerd
// github.com/containerd/containerd 1.7.24~ds1 ..."); empty when none.
func ParseVersion(out string) string {
	if loc := versionWordRE.FindStringIndex(out); loc != nil {
		if m := versionRE.FindStringSubmatch(out[loc[1]:]); m != nil {
			return strings.TrimRight(m[1], ".-")
		}
	}
	if m := versionRE.FindStringSubmatch(out); m != nil {
		return strings.TrimRight(m[1], ".-")
	}
	return ""
}
