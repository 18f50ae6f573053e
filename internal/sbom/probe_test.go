package sbom

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/testutil"
	"github.com/kubebake/kubebake/recipes"
)

func TestParseVersion(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, out, want string }{
		{"kubeadm short", "v1.36.3", "v1.36.3"},
		{"kubelet", "Kubernetes v1.36.3", "v1.36.3"},
		{"kubectl", "Client Version: v1.36.3 Kustomize Version: v5.7.1 ", "v1.36.3"},
		{"crictl", "crictl version v1.36.0 ", "v1.36.0"},
		{"debian containerd", "containerd github.com/containerd/containerd 1.7.24~ds1 1.7.24~ds1-6+b3 ", "1.7.24~ds1"},
		{"containerd.io", "containerd containerd.io 1.7.27 05044ec0a9a75232cad458027ca83437aae3f4da ", "1.7.27"},
		{"runc", "runc version 1.1.15+ds1 commit: 1.1.15+ds1-2 spec: 1.2.0 go: go1.24.4 libseccomp: 2.6.0 ", "1.1.15+ds1"},
		{"dockerd", "Docker version 26.1.5+dfsg1, build a72d7cd ", "26.1.5+dfsg1"},
		{"cri-dockerd", "cri-dockerd 0.4.3 (de0ad2a) ", "0.4.3"},
		{"crio table", "Version:        1.36.2 GitCommit:      5ab1c3f GoVersion:      go1.26.3 ", "1.36.2"},
		{"version after a warning", "WARN[0000] listening on 127.0.0.1 crio version 1.36.2 ", "1.36.2"},
		{"conmon", "conmon version 2.1.12 commit: unknown ", "2.1.12"},
		{"no version", "pinns: unrecognized option '--version' ", ""},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, ParseVersion(tc.out))
		})
	}
}

func TestParseDpkgQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		out  string
		want []Package
		err  string
	}{
		{
			name: "installed, held, removed with configuration left",
			out:  "installed\tbash\t5.2.37-2+b5\tamd64\ninstalled\tutil-linux\t1:2.41-5\tamd64\nconfig-files\told\t1.0\tamd64\nnot-installed\tgone\t\tamd64\ntriggers-pending\tman-db\t2.13.1-1\tamd64\n",
			want: []Package{
				{Format: FormatDeb, Name: "bash", Version: "5.2.37-2+b5", Arch: "amd64"},
				{Format: FormatDeb, Name: "util-linux", Version: "1:2.41-5", Arch: "amd64"},
				{Format: FormatDeb, Name: "man-db", Version: "2.13.1-1", Arch: "amd64"},
			},
		},
		{name: "empty", out: "\n"},
		{name: "a torn line", out: "installed\tbash\t5.2\n", err: `dpkg-query line 1: want STATUS NAME VERSION ARCH, got "installed\tbash\t5.2"`},
		{name: "chatter", out: "dpkg-query: error: cannot access archive\n", err: "dpkg-query line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDpkgQuery([]byte(tc.out))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseDpkgStatus(t *testing.T) {
	t.Parallel()
	const status = `Package: bash
Essential: yes
Status: install ok installed
Priority: required
Installed-Size: 7168
Architecture: amd64
Version: 5.2.37-2+b5
Description: GNU Bourne Again SHell
 Bash is an sh-compatible command language interpreter.
 .
 Status: not a field

Package: old
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: kubelet
Status: hold ok installed
Architecture: amd64
Version: 1.36.3-1.1
`
	tests := []struct {
		name string
		in   string
		want []Package
		err  string
	}{
		{name: "installed and held, not removed", in: status, want: []Package{
			{Format: FormatDeb, Name: "bash", Version: "5.2.37-2+b5", Arch: "amd64"},
			{Format: FormatDeb, Name: "kubelet", Version: "1.36.3-1.1", Arch: "amd64"},
		}},
		{name: "empty database", in: ""},
		{name: "no Package", in: "Status: install ok installed\nVersion: 1\n", err: "stanza 1: no Package field"},
		{name: "bad Status", in: "Package: a\nStatus: installed\n", err: `package a: Status "installed"`},
		{name: "not a field", in: "Package: a\nnonsense\n", err: `"nonsense" is no field`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDpkgStatus([]byte(tc.in))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseRPMQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		out  string
		want []Package
		err  string
	}{
		{
			name: "epochs and keys",
			out:  "bash\t0\t5.1.8\t9.el9\tx86_64\nshadow-utils\t2\t4.9\t12.el9\tx86_64\ngpg-pubkey\t0\t350d275d\t6279464b\t(none)\n",
			want: []Package{
				{Format: FormatRPM, Name: "bash", Version: "5.1.8-9.el9", Arch: "x86_64"},
				{Format: FormatRPM, Name: "shadow-utils", Version: "2:4.9-12.el9", Arch: "x86_64"},
			},
		},
		{name: "torn", out: "bash\t0\t5.1.8\n", err: "rpm query line 1: want NAME EPOCH VERSION RELEASE ARCH"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRPMQuery([]byte(tc.out))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestProbeParse(t *testing.T) {
	t.Parallel()
	sum := kubeletSum
	p := Probe{Format: FormatDeb, Binaries: []BinarySpec{{Name: "crio", VersionArgs: []string{"--version"}}, {Name: "pinns", VersionOf: "crio"}}}
	tests := []struct {
		name string
		out  string
		want Inventory
		err  string
	}{
		{
			name: "whole, after sudo's chatter",
			out: "sudo: unable to resolve host kubebake-build\n@os-release\ndebian\t13\n@packages deb\ninstalled\tbash\t5.2\tamd64\n" +
				"@binaries\ncrio\t/usr/local/bin/crio\t" + sum + "\tcrio version 1.36.2 \npinns\t/usr/local/bin/pinns\t" + sum + "\t\n@end\n",
			want: Inventory{
				OS:       OS{ID: "debian", VersionID: "13"},
				Packages: []Package{{Format: FormatDeb, Name: "bash", Version: "5.2", Arch: "amd64"}},
				Binaries: []Binary{
					{Name: "crio", Path: "/usr/local/bin/crio", SHA256: sum, Version: "1.36.2"},
					{Name: "pinns", Path: "/usr/local/bin/pinns", SHA256: sum, Version: "1.36.2"},
				},
			},
		},
		{name: "cut short", out: "@os-release\ndebian\t13\n@packages deb\ninstalled\tbash\t5.2\tamd64\n@binaries\n", err: "ended before @end"},
		{name: "wrong database", out: "@os-release\nrocky\t9\n@packages rpm\n@end\n", err: `package format "rpm", want "deb"`},
		{name: "no packages", out: "@os-release\ndebian\t13\n@packages deb\n\n@binaries\n@end\n", err: "lists no installed package"},
		{name: "torn binary", out: "@os-release\ndebian\t13\n@packages deb\ninstalled\tbash\t5.2\tamd64\n@binaries\ncrio\t/usr/local/bin/crio\n@end\n", err: "line 6: want NAME PATH SHA256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.Parse([]byte(tc.out))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestProbeFor(t *testing.T) {
	t.Parallel()
	names := func(p Probe) []string {
		var out []string
		for _, b := range p.Binaries {
			out = append(out, b.Name)
		}
		return out
	}
	tests := []struct {
		family  recipes.Family
		runtime string
		format  string
		bins    []string
	}{
		{recipes.FamilyApt, recipes.RuntimeContainerd, FormatDeb, []string{"kubeadm", "kubelet", "kubectl", "crictl", "containerd", "runc", "crun", "conmon"}},
		{recipes.FamilyDnf, recipes.RuntimeCRIO, FormatRPM, []string{"kubeadm", "kubelet", "kubectl", "crictl", "crio", "pinns", "runc", "crun", "conmon"}},
		{recipes.FamilyApt, recipes.RuntimeDocker, FormatDeb, []string{"kubeadm", "kubelet", "kubectl", "crictl", "containerd", "dockerd", "cri-dockerd", "runc", "crun", "conmon"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.family)+"-"+tc.runtime, func(t *testing.T) {
			t.Parallel()
			p, err := ProbeFor(tc.family, tc.runtime)
			require.NoError(t, err)
			assert.Equal(t, tc.format, p.Format)
			assert.Equal(t, tc.bins, names(p))
		})
	}
	_, err := ProbeFor(recipes.FamilyApt, "podman")
	require.ErrorContains(t, err, `runtime "podman"`)
	_, err = ProbeFor("apk", recipes.RuntimeContainerd)
	require.ErrorContains(t, err, `distro family "apk"`)
}

// TestProbeScriptOnThisMachine runs the probe's script with bash on this
// Debian machine, as the chroot would: dpkg-query's real output parses,
// the binaries' sums are the files' and their versions are read; a
// missing required binary fails the script naming it.
func TestProbeScriptOnThisMachine(t *testing.T) {
	t.Parallel()
	testutil.Tool(t, "dpkg-query")
	sc := testutil.Tool(t, "shellcheck")
	bash, err := exec.LookPath("bash")
	require.NoError(t, err)
	p := Probe{Format: FormatDeb, Binaries: []BinarySpec{
		{Name: "bash", VersionArgs: []string{"--version"}, Required: true},
		{Name: "sh"}, // a symbolic link: its target is recorded
		{Name: "no-such-binary-here"},
	}}
	script, err := p.Script()
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "probe.sh")
	require.NoError(t, os.WriteFile(f, []byte(script), 0o644))
	out, err := exec.Command(sc, "--norc", "-s", "bash", "-S", "warning", f).CombinedOutput()
	require.NoError(t, err, "%s", out)

	out, err = exec.Command(bash, "-c", script).Output()
	require.NoError(t, err)
	inv, err := p.Parse(out)
	require.NoError(t, err)
	assert.NotEmpty(t, inv.OS.ID)
	found := false
	for _, pkg := range inv.Packages {
		found = found || pkg.Name == "bash"
	}
	assert.True(t, found, "dpkg-query lists bash")
	require.Len(t, inv.Binaries, 2, "the missing optional binary is left out")
	real, err := filepath.EvalSymlinks(bash)
	require.NoError(t, err)
	b, err := os.ReadFile(real)
	require.NoError(t, err)
	s := sha256.Sum256(b)
	assert.Equal(t, Binary{Name: "bash", Path: real, SHA256: hex.EncodeToString(s[:]), Version: inv.Binaries[0].Version}, inv.Binaries[0])
	assert.Regexp(t, `^[0-9]+\.[0-9]+`, inv.Binaries[0].Version)
	sh, err := filepath.EvalSymlinks("/bin/sh")
	require.NoError(t, err)
	assert.Equal(t, sh, inv.Binaries[1].Path)
	assert.Empty(t, inv.Binaries[1].Version, "no version option: no version")

	p.Binaries = append(p.Binaries, BinarySpec{Name: "kubelet-not-here", Required: true})
	script, err = p.Script()
	require.NoError(t, err)
	cmd := exec.Command(bash, "-c", script)
	out, err = cmd.Output()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Contains(t, string(exit.Stderr), "inventory: kubelet-not-here: not found in the image")
	_, err = p.Parse(out)
	require.ErrorContains(t, err, "ended before @end")
}
