// Command srcrepo lays Kubernetes node binaries out the way the upstream
// servers do, for make e2e-sources, where none of them can be reached:
//
//	srcrepo layout -bin DIR -cni DIR -gnupghome DIR -key UID -out DIR [-rpm]
//	srcrepo serve -dir DIR -addr-file FILE
//
// layout writes, under -out:
//   - pkgs/core:/stable:/vMINOR/deb/: an apt repository in pkgs.k8s.io's
//     layout: kubelet, kubeadm, kubectl (VERSION-1.1), cri-tools and
//     kubernetes-cni .deb packages built with dpkg-deb, Packages(.gz), a
//     Release signed with gpg (InRelease, Release.gpg) and the key as
//     Release.key;
//   - with -rpm, pkgs/core:/stable:/vMINOR/rpm/: the same packages as rpms
//     (VERSION-150500.1.1) built with rpmbuild and signed with rpmsign under
//     ARCH/ (x86_64), repodata/ by createrepo_c, repomd.xml signed
//     (repomd.xml.asc) and the key as repodata/repomd.xml.key;
//   - dl/release/VERSION/bin/linux/ARCH/NAME and NAME.sha256 (dl.k8s.io);
//   - cri-tools/VERSION/crictl-VERSION-linux-ARCH.tar.gz and .sha256;
//   - cni/VERSION/cni-plugins-linux-ARCH-VERSION.tgz and .sha256.
//
// serve serves a directory on loopback, writes its base URL to -addr-file
// and logs every request, until it is stopped.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "srcrepo: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: srcrepo layout|serve [flags]")
	}
	switch args[0] {
	case "layout":
		return runLayout(args[1:])
	case "serve":
		return runServe(args[1:])
	}
	return fmt.Errorf("unknown command %q (want layout or serve)", args[0])
}
