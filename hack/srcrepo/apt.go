package main

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// debPackage is one package of the apt repository.
type debPackage struct {
	name, version, depends, description string
	// files maps a path in the package to its source file (empty: the
	// content) and mode.
	files []debFile
}

type debFile struct {
	path, src string
	content   []byte
	mode      os.FileMode
}

// kubeletService and kubeadmDropIn are what pkgs.k8s.io's kubelet and
// kubeadm packages place for systemd.
const kubeletService = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`

const kubeadmDropIn = `[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`

// packages are the packages pkgs.k8s.io publishes for a minor release,
// with its revision -1.1.
func (l *layout) packages() ([]debPackage, error) {
	bin := func(name string) debFile {
		return debFile{path: "usr/bin/" + name, src: filepath.Join(l.bin, name), mode: 0o755}
	}
	cni, err := cniFiles(l.cni)
	if err != nil {
		return nil, err
	}
	var cniFilesList []debFile
	for _, f := range cni {
		cniFilesList = append(cniFilesList, debFile{path: "opt/cni/bin/" + filepath.Base(f), src: f, mode: 0o755})
	}
	v := plain(l.version) + "-1.1"
	return []debPackage{
		{name: "kubelet", version: v, description: "Node agent for Kubernetes clusters",
			depends: "iptables (>= 1.4.21), kubernetes-cni (>= 1.1.1), iproute2, socat, util-linux, mount, ethtool, conntrack",
			files:   []debFile{bin("kubelet"), {path: "usr/lib/systemd/system/kubelet.service", content: []byte(kubeletService), mode: 0o644}}},
		{name: "kubeadm", version: v, description: "Command-line utility for administering a Kubernetes cluster",
			depends: "cri-tools (>= 1.28.0), kubelet (>= 1.19.0), kubectl (>= 1.19.0)",
			files:   []debFile{bin("kubeadm"), {path: "usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf", content: []byte(kubeadmDropIn), mode: 0o644}}},
		{name: "kubectl", version: v, description: "Command-line utility for interacting with a Kubernetes cluster",
			files: []debFile{bin("kubectl")}},
		{name: "cri-tools", version: plain(l.crictlVersion) + "-1.1", description: "Command-line utility for interacting with a container runtime",
			files: []debFile{bin("crictl")}},
		{name: "kubernetes-cni", version: plain(l.cniVersion) + "-1.1", description: "Binaries required to provision kubernetes container networking",
			files: cniFilesList},
	}, nil
}

// aptRepository writes pkgs/core:/stable:/vMINOR/deb/ as pkgs.k8s.io
// serves it: a flat repository ("deb URL /") whose packages are under
// ARCH/, indexed by Packages and Packages.gz, with a Release signed inline
// (InRelease) and detached (Release.gpg), and the key as Release.key.
func (l *layout) aptRepository() error {
	dir := filepath.Join(l.tmp, "pkgs", "core:", "stable:", l.minor(), "deb")
	pkgs, err := l.packages()
	if err != nil {
		return err
	}
	var index bytes.Buffer
	for _, p := range pkgs {
		rel := fmt.Sprintf("%s/%s_%s_%s.deb", l.arch, p.name, p.version, l.arch)
		control, err := l.buildDeb(p, filepath.Join(dir, rel))
		if err != nil {
			return fmt.Errorf("package %s: %w", p.name, err)
		}
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			return err
		}
		md, sha := digests(b)
		fmt.Fprintf(&index, "%sFilename: %s\nSize: %d\nMD5sum: %s\nSHA256: %s\n\n", control, rel, len(b), md, sha)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(index.Bytes()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	var md5s, sha256s strings.Builder
	for _, ix := range []struct {
		name string
		b    []byte
	}{{"Packages", index.Bytes()}, {"Packages.gz", gz.Bytes()}} {
		if err := os.WriteFile(filepath.Join(dir, ix.name), ix.b, 0o644); err != nil {
			return err
		}
		md, sha := digests(ix.b)
		fmt.Fprintf(&md5s, " %s %d %s\n", md, len(ix.b), ix.name)
		fmt.Fprintf(&sha256s, " %s %d %s\n", sha, len(ix.b), ix.name)
	}
	release := fmt.Sprintf("Origin: kubebake e2e (pkgs.k8s.io layout)\nLabel: isv:kubernetes:core:stable:%s\nArchitectures: %s\nDate: %s\nMD5Sum:\n%sSHA256:\n%s",
		l.minor(), l.arch, time.Now().UTC().Format("Mon, 02 Jan 2006 15:04:05 UTC"), md5s.String(), sha256s.String())
	if err := os.WriteFile(filepath.Join(dir, "Release"), []byte(release), 0o644); err != nil {
		return err
	}
	return l.sign(dir)
}

// digests are b's MD5 and SHA-256 in hex, as apt's indexes list them.
func digests(b []byte) (md5Hex, sha256Hex string) {
	md := md5.Sum(b)
	sha := sha256.Sum256(b)
	return hex.EncodeToString(md[:]), hex.EncodeToString(sha[:])
}

// buildDeb builds p with dpkg-deb at path and returns its control
// paragraph (without the blank line).
func (l *layout) buildDeb(p debPackage, path string) (string, error) {
	stage, err := os.MkdirTemp("", "srcrepo-deb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)
	var size int64
	for _, f := range p.files {
		dst := filepath.Join(stage, f.path)
		if f.src != "" {
			err = copyFile(f.src, dst, f.mode)
		} else {
			if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
				err = os.WriteFile(dst, f.content, f.mode)
			}
		}
		if err != nil {
			return "", err
		}
		if fi, err := os.Stat(dst); err == nil {
			size += fi.Size()
		}
	}
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Kubernetes Authors <dev@kubernetes.io>\nInstalled-Size: %d\n",
		p.name, p.version, l.arch, (size+1023)/1024)
	if p.depends != "" {
		control += "Depends: " + p.depends + "\n"
	}
	control += "Section: admin\nPriority: optional\nHomepage: https://kubernetes.io\nDescription: " + p.description + "\n"
	if err := os.MkdirAll(filepath.Join(stage, "DEBIAN"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(stage, "DEBIAN", "control"), []byte(control), 0o644); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", stage, path).CombinedOutput(); err != nil {
		return "", fmt.Errorf("dpkg-deb --build: %w: %s", err, out)
	}
	return control, nil
}

// sign signs dir/Release with the layout's key: InRelease (inline),
// Release.gpg (detached, armored), and exports the key as Release.key.
func (l *layout) sign(dir string) error {
	release := filepath.Join(dir, "Release")
	if err := l.gpg("--local-user", l.key, "--digest-algo", "SHA512", "--clearsign", "--output", filepath.Join(dir, "InRelease"), release); err != nil {
		return err
	}
	if err := l.gpg("--local-user", l.key, "--digest-algo", "SHA512", "--armor", "--detach-sign", "--output", filepath.Join(dir, "Release.gpg"), release); err != nil {
		return err
	}
	return l.gpg("--armor", "--export", "--output", filepath.Join(dir, "Release.key"), l.key)
}

// gpg runs gpg in the layout's home, in batch mode.
func (l *layout) gpg(args ...string) error {
	cmd := exec.Command("gpg", append([]string{"--homedir", l.gnupghome, "--batch", "--yes", "--quiet"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gpg %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}
