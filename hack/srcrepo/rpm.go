package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// rpmRelease is the release pkgs.k8s.io's rpm packages carry
// (kubelet-1.36.3-150500.1.1.x86_64.rpm).
const rpmRelease = "150500.1.1"

// rpmRequires are the Requires of pkgs.k8s.io's rpm packages among
// themselves. Their requirements on the distro (iptables, iproute, socat,
// conntrack, ethtool, util-linux) are left out: the repository is also
// installed from alone, into a scratch root with no distro repository.
var rpmRequires = map[string]string{
	"kubelet": "kubernetes-cni >= 1.1.1",
	"kubeadm": "cri-tools >= 1.28.0, kubelet >= 1.19.0, kubectl >= 1.19.0",
}

// rpmArch is the rpm architecture of a Debian one.
func rpmArch(arch string) string {
	switch arch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return arch
}

// rpmRepository writes pkgs/core:/stable:/vMINOR/rpm/ as pkgs.k8s.io
// serves it: the packages of l.packages as rpms under ARCH/, built with
// rpmbuild and signed with rpmsign, indexed by createrepo_c in repodata/,
// repomd.xml signed (repomd.xml.asc) and the key as repodata/repomd.xml.key.
func (l *layout) rpmRepository() error {
	dir := filepath.Join(l.tmp, "pkgs", "core:", "stable:", l.minor(), "rpm")
	pkgs, err := l.packages()
	if err != nil {
		return err
	}
	arch := rpmArch(l.arch)
	var rpms []string
	for _, p := range pkgs {
		version, _, _ := strings.Cut(p.version, "-")
		path := filepath.Join(dir, arch, fmt.Sprintf("%s-%s-%s.%s.rpm", p.name, version, rpmRelease, arch))
		if err := buildRPM(p, version, arch, path); err != nil {
			return fmt.Errorf("package %s: %w", p.name, err)
		}
		rpms = append(rpms, path)
	}
	if err := l.rpmsign(rpms); err != nil {
		return err
	}
	if out, err := exec.Command("createrepo_c", "--quiet", "--no-database", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("createrepo_c: %w: %s", err, out)
	}
	repomd := filepath.Join(dir, "repodata", "repomd.xml")
	if err := l.gpg("--local-user", l.key, "--digest-algo", "SHA512", "--armor", "--detach-sign", "--output", repomd+".asc", repomd); err != nil {
		return err
	}
	return l.gpg("--armor", "--export", "--output", repomd+".key", l.key)
}

// rpmSpec is the spec of one package: its files are copied from the stage
// directory given as %{stage}. AutoReqProv is off: the payloads carry no
// dependencies of their own worth resolving (stand-ins are shell scripts,
// which would require /bin/sh).
const rpmSpec = `Name: %s
Version: %s
Release: %s
Summary: %s
License: ASL 2.0
URL: https://kubernetes.io
AutoReqProv: no
%s
%%description
%s.

%%install
cp -a %%{stage}/. %%{buildroot}/

%%files
%s
`

// buildRPM builds p at version for arch with rpmbuild, at path.
func buildRPM(p debPackage, version, arch, path string) error {
	top, err := os.MkdirTemp("", "srcrepo-rpm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(top)
	stage := filepath.Join(top, "stage")
	var files strings.Builder
	for _, f := range p.files {
		dst := filepath.Join(stage, f.path)
		if f.src != "" {
			err = copyFile(f.src, dst, f.mode)
		} else if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
			err = os.WriteFile(dst, f.content, f.mode)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(&files, "%%attr(%04o,root,root) /%s\n", f.mode.Perm(), f.path)
	}
	requires := ""
	if r := rpmRequires[p.name]; r != "" {
		requires = "Requires: " + r
	}
	spec := filepath.Join(top, p.name+".spec")
	body := fmt.Sprintf(rpmSpec, p.name, version, rpmRelease, p.description, requires, p.description, files.String())
	if err := os.WriteFile(spec, []byte(body), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("rpmbuild", "-bb", "--quiet", "--target", arch,
		"--define", "_topdir "+filepath.Join(top, "rpmbuild"),
		"--define", "stage "+stage,
		"--define", "_build_id_links none",
		spec)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("rpmbuild: %w: %s", err, out)
	}
	built := filepath.Join(top, "rpmbuild", "RPMS", arch, filepath.Base(path))
	return copyFile(built, path, 0o644)
}

// rpmsign signs the rpms with the layout's key, through gpg.
func (l *layout) rpmsign(rpms []string) error {
	gpg, err := exec.LookPath("gpg")
	if err != nil {
		return err
	}
	args := []string{"--addsign",
		"--define", "__gpg " + gpg,
		"--define", "_gpg_path " + l.gnupghome,
		"--define", "_gpg_name " + l.key,
		"--define", "_gpg_digest_algo sha512"}
	cmd := exec.Command("rpmsign", append(args, rpms...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("rpmsign: %w: %s", err, out)
	}
	return nil
}
