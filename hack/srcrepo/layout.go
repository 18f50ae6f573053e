package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubebake/kubebake/internal/atomicfile"
)

// layout is what srcrepo layout lays out, and where.
type layout struct {
	bin, cni, out, arch                string
	version, crictlVersion, cniVersion string
	// gnupghome and key sign the apt and rpm repositories.
	gnupghome, key string
	// rpm adds the rpm repository (rpmbuild, rpmsign, createrepo_c).
	rpm bool
	// tmp is the tree being written; it replaces out when it is whole.
	tmp string
}

func runLayout(args []string) error {
	var l layout
	fs := flag.NewFlagSet("layout", flag.ContinueOnError)
	fs.StringVar(&l.bin, "bin", "", "directory with kubeadm, kubelet, kubectl and crictl")
	fs.StringVar(&l.cni, "cni", "", "directory with the CNI plugins")
	fs.StringVar(&l.out, "out", "", "output directory (replaced whole)")
	fs.StringVar(&l.arch, "arch", "amd64", "architecture")
	fs.StringVar(&l.version, "version", "v1.36.3", "Kubernetes version of the binaries")
	fs.StringVar(&l.crictlVersion, "crictl-version", "v1.36.0", "cri-tools version of crictl")
	fs.StringVar(&l.cniVersion, "cni-version", "v1.7.1", "version the CNI plugins are published as")
	fs.StringVar(&l.gnupghome, "gnupghome", "", "gpg home with the signing key")
	fs.StringVar(&l.key, "key", "", "user ID or fingerprint of the signing key")
	fs.BoolVar(&l.rpm, "rpm", false, "also write the rpm repository")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for flagName, v := range map[string]string{"bin": l.bin, "cni": l.cni, "out": l.out, "gnupghome": l.gnupghome, "key": l.key} {
		if v == "" {
			return fmt.Errorf("-%s is needed", flagName)
		}
	}
	for _, name := range []string{"kubeadm", "kubelet", "kubectl", "crictl"} {
		if fi, err := os.Stat(filepath.Join(l.bin, name)); err != nil || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("-bin %s: no executable %s", l.bin, name)
		}
	}
	if err := os.MkdirAll(filepath.Dir(l.out), 0o755); err != nil {
		return err
	}
	tmp, err := atomicfile.MkdirTemp(l.out)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	l.tmp = tmp
	steps := []func() error{l.aptRepository, l.releaseBinaries, l.criTools, l.cniPlugins}
	if l.rpm {
		steps = append(steps, l.rpmRepository)
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return atomicfile.ReplaceDir(tmp, l.out)
}

// minor is the Kubernetes minor as pkgs.k8s.io names it: v1.36.
func (l *layout) minor() string {
	parts := strings.SplitN(l.version, ".", 3)
	return parts[0] + "." + parts[1]
}

// plain drops a version's v.
func plain(v string) string { return strings.TrimPrefix(v, "v") }
