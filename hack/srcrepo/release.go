package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/kubebake/kubebake/internal/manifest"
)

// releaseBinaries lays kubeadm, kubelet and kubectl out as dl.k8s.io does:
// release/VERSION/bin/linux/ARCH/NAME, with NAME.sha256 holding the digest
// alone.
func (l *layout) releaseBinaries() error {
	dir := filepath.Join(l.tmp, "dl", "release", l.version, "bin", "linux", l.arch)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"kubeadm", "kubelet", "kubectl"} {
		dst := filepath.Join(dir, name)
		if err := copyFile(filepath.Join(l.bin, name), dst, 0o755); err != nil {
			return err
		}
		if err := writeSHA256(dst, false); err != nil {
			return err
		}
	}
	return nil
}

// criTools lays crictl out as cri-tools' releases do:
// VERSION/crictl-VERSION-linux-ARCH.tar.gz and its .sha256.
func (l *layout) criTools() error {
	dir := filepath.Join(l.tmp, "cri-tools", l.crictlVersion)
	tgz := filepath.Join(dir, fmt.Sprintf("crictl-%s-linux-%s.tar.gz", l.crictlVersion, l.arch))
	if err := writeTarGz(tgz, map[string]string{"crictl": filepath.Join(l.bin, "crictl")}); err != nil {
		return err
	}
	return writeSHA256(tgz, false)
}

// cniPlugins lays the CNI plugins out as containernetworking/plugins'
// releases do: VERSION/cni-plugins-linux-ARCH-VERSION.tgz, whose .sha256
// names the file too.
func (l *layout) cniPlugins() error {
	files, err := cniFiles(l.cni)
	if err != nil {
		return err
	}
	entries := map[string]string{}
	for _, f := range files {
		entries["./"+filepath.Base(f)] = f
	}
	tgz := filepath.Join(l.tmp, "cni", l.cniVersion, fmt.Sprintf("cni-plugins-linux-%s-%s.tgz", l.arch, l.cniVersion))
	if err := writeTarGz(tgz, entries); err != nil {
		return err
	}
	return writeSHA256(tgz, true)
}

// cniFiles lists the executable regular files of dir.
func cniFiles(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range es {
		p := filepath.Join(dir, e.Name())
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-cni %s: no CNI plugins", dir)
	}
	return out, nil
}

// writeTarGz writes a gzipped tar of files (name in the archive -> file),
// each 0755 and owned by root.
func writeTarGz(path string, files map[string]string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := addTarFile(tw, n, files[n]); err != nil {
			f.Close()
			return err
		}
	}
	for _, c := range []io.Closer{tw, zw, f} {
		if err := c.Close(); err != nil {
			return err
		}
	}
	return nil
}

func addTarFile(tw *tar.Writer, name, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: fi.Size(), Typeflag: tar.TypeReg, ModTime: fi.ModTime()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, in)
	return err
}

// writeSHA256 writes path.sha256: the digest alone (dl.k8s.io) or the
// digest and the file's name (sha256sum's format, withName).
func writeSHA256(path string, withName bool) error {
	sum, _, err := manifest.FileSHA256(path)
	if err != nil {
		return err
	}
	line := sum
	if withName {
		line += "  " + filepath.Base(path)
	}
	return os.WriteFile(path+".sha256", []byte(line+"\n"), 0o644)
}

// copyFile copies src to dst with mode.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
