package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// proxyPackages are the Debian packages of kube-proxy's iptables (nft
// backend, as Debian 12/13 hosts use) and the libraries it loads.
var proxyPackages = []string{"iptables", "libip4tc2", "libip6tc2", "libxtables12", "libmnl0",
	"libnetfilter-conntrack3", "libnfnetlink0", "libnftnl11", "libc6", "netbase"}

// aptCandidates reads `apt-cache show --no-all-versions` output and returns
// "PACKAGE=VERSION " for each stanza, sorted and concatenated: the string
// the tree's stamp (kube-proxy-root.debs) records.
func aptCandidates(out string) (debs string, n int) {
	var list []string
	pkg := ""
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "Package: "); ok {
			pkg = strings.TrimSpace(v)
		} else if v, ok := strings.CutPrefix(l, "Version: "); ok {
			list = append(list, pkg+"="+strings.TrimSpace(v))
		}
	}
	sort.Strings(list)
	for _, d := range list {
		debs += d + " "
	}
	return debs, len(list)
}

// kubeProxyTree makes base/kube-proxy-root, the tree merged into the
// kube-proxy image: iptables and the libraries it loads, from the build
// machine's Debian packages (apt-get download, no root). It is rebuilt only
// when apt's candidate versions change. note says how it got there.
func (t *tool) kubeProxyTree(ctx context.Context, base string) (tree, note string, err error) {
	tree = filepath.Join(base, "kube-proxy-root")
	t0 := time.Now()
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", "", fmt.Errorf("apt-get is not on PATH: kube-proxy's iptables come from Debian packages")
	}
	out, _ := exec.CommandContext(ctx, "apt-cache", append([]string{"show", "--no-all-versions"}, proxyPackages...)...).Output()
	debs, n := aptCandidates(string(out))
	if n != len(proxyPackages) {
		return "", "", fmt.Errorf("apt knows only '%s' of %s (run apt-get update)", debs, strings.Join(proxyPackages, " "))
	}
	if old, err := os.ReadFile(tree + ".debs"); err == nil && string(old) == debs {
		if fi, err := os.Stat(tree); err == nil && fi.IsDir() {
			return tree, "cached", nil
		}
	}

	debdir, next := filepath.Join(base, "debs"), tree+".new"
	for _, d := range []string{debdir, next} {
		if err := os.RemoveAll(d); err != nil {
			return "", "", err
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", "", err
		}
	}
	if err := t.quietly(ctx, "apt-download", debdir, append([]string{"apt-get", "download"}, strings.Fields(debs)...)...); err != nil {
		return "", "", fmt.Errorf("apt-get download %s failed", debs)
	}
	files, _ := filepath.Glob(filepath.Join(debdir, "*.deb"))
	for _, d := range files {
		if err := t.run(ctx, "", nil, "dpkg-deb", "-x", d, next); err != nil {
			return "", "", fmt.Errorf("dpkg-deb -x %s failed", d)
		}
	}
	// Only what iptables runs with: no docs, locales, gconv or libc's tools.
	drop := []string{"usr/share", "usr/bin", "usr/libexec", "etc/ld.so.conf.d"}
	gconv, _ := filepath.Glob(filepath.Join(next, "usr/lib/*/gconv"))
	for _, d := range drop {
		gconv = append(gconv, filepath.Join(next, d))
	}
	for _, d := range gconv {
		if err := os.RemoveAll(d); err != nil {
			return "", "", err
		}
	}
	for _, l := range []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"} {
		p := filepath.Join(next, "usr/sbin", l)
		_ = os.Remove(p)
		if err := os.Symlink("xtables-nft-multi", p); err != nil {
			return "", "", err
		}
	}
	ipt, err := runTreeIptables(ctx, next)
	if err != nil {
		return "", "", err
	}
	if err := os.RemoveAll(tree); err != nil {
		return "", "", err
	}
	if err := os.Rename(next, tree); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(tree+".debs", []byte(debs), 0o644); err != nil {
		return "", "", err
	}
	return tree, ipt + ", from Debian packages in " + seconds(t0, 1) + "s", nil
}

// runTreeIptables runs the tree's iptables --version with the tree's own
// loader on every library directory of the tree (bookworm's libc6 is not
// merged-/usr, its other libraries are), no root needed, and returns what
// it says.
func runTreeIptables(ctx context.Context, tree string) (string, error) {
	libDirs := map[string]bool{}
	var loader string
	libc := false
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if ok, _ := filepath.Match("lib*.so*", name); ok {
			libDirs[filepath.Dir(p)] = true
		}
		if ok, _ := filepath.Match("ld-linux*.so*", name); ok && d.Type().IsRegular() && loader == "" {
			loader = p
		}
		libc = libc || name == "libc.so.6"
		return nil
	})
	if err != nil {
		return "", err
	}
	if !libc || loader == "" {
		return "", fmt.Errorf("the kube-proxy tree has no libc or loader")
	}
	dirs := make([]string, 0, len(libDirs))
	for d := range libDirs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	out, err := exec.CommandContext(ctx, loader, "--library-path", strings.Join(dirs, ":"),
		filepath.Join(tree, "usr/sbin/xtables-nft-multi"), "iptables", "--version").CombinedOutput()
	ipt := strings.TrimRight(string(out), "\n")
	if err != nil {
		return "", fmt.Errorf("the kube-proxy tree's iptables does not run: %s", ipt)
	}
	return ipt, nil
}
