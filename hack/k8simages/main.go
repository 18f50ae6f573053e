// Command k8simages packs prebuilt static binaries into the control-plane
// images kubeadm pulls (kube-apiserver, kube-controller-manager,
// kube-scheduler, kube-proxy, etcd, coredns, pause), one single-layer
// linux/amd64 image per archive, without a registry or a container engine.
//
//	go run ./hack/k8simages -out DIR [-kubernetes-version V] [-bin NAME=PATH]... REF...
//
// REF is an image reference as `kubeadm config images list` prints it
// (registry.k8s.io/kube-apiserver:v1.36.3); the last path element picks the
// layout (see kinds). -bin NAME=PATH names the binary for NAME (kube-apiserver,
// ..., etcd, etcdctl, coredns, pause); etcdctl is optional.
//
// Each image is written to DIR/NAME.tar (NAME: the last path element of the
// repository), atomically. The archive is what `docker save` writes since
// Docker 25: an OCI image layout (oci-layout, index.json, blobs/sha256/...)
// plus Docker's manifest.json pointing into blobs/. `docker load` reads
// manifest.json; `ctr images import` reads the OCI layout, so containerd
// keeps the manifest bytes written here and reports the digest recorded in
// DIR/images.json. (An archive with manifest.json only, as
// tarball.WriteToFile writes, makes containerd synthesize its own manifest,
// whose digest differs from go-containerregistry's.)
//
// Output is deterministic: fixed timestamps (SOURCE_DATE_EPOCH, default 0),
// sorted entries, root-owned files, gzip without a name or time, so the same
// binaries give the same digests. An image is rebuilt only when its archive
// is missing or its inputs (binary hashes, reference, layout) changed,
// recorded in DIR/.NAME.stamp.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// createdTime is SOURCE_DATE_EPOCH, or the Unix epoch.
func createdTime() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", v, err)
	}
	return time.Unix(n, 0).UTC(), nil
}

// binFlags is a repeatable KEY=PATH flag (-bin, -tree); paths are made
// absolute.
type binFlags map[string]string

func (b binFlags) String() string { return fmt.Sprint(map[string]string(b)) }

func (b binFlags) Set(v string) error {
	k, p, ok := strings.Cut(v, "=")
	if !ok || k == "" || p == "" {
		return errors.New("want NAME=PATH")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return err
	}
	b[k] = abs
	return nil
}

func main() {
	bins, trees := binFlags{}, binFlags{}
	out := flag.String("out", "", "output directory (required)")
	kv := flag.String("kubernetes-version", "", "recorded in images.json")
	flag.Var(bins, "bin", "NAME=PATH of a binary (repeatable)")
	flag.Var(trees, "tree", "IMAGE=DIR: a directory merged into the root of image IMAGE, e.g. kube-proxy=DIR (repeatable)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: k8simages -out DIR [-kubernetes-version V] [-bin NAME=PATH]... [-tree IMAGE=DIR]... REF...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, *kv, bins, trees, flag.Args(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "k8simages: error:", err)
		os.Exit(1)
	}
}

func run(out, kubeVersion string, bins, trees map[string]string, refs []string, w io.Writer) error {
	created, err := createdTime()
	if err != nil {
		return err
	}
	specs := make([]Spec, 0, len(refs))
	for _, r := range refs {
		s, err := SpecFor(r, bins, trees)
		if err != nil {
			return err
		}
		specs = append(specs, s)
	}
	idx := Index{KubernetesVersion: kubeVersion}
	var total int64
	for _, s := range specs {
		t0 := time.Now()
		e, cached, err := Make(s, out, created)
		if err != nil {
			return err
		}
		how := fmt.Sprintf("built in %.1fs", time.Since(t0).Seconds())
		if cached {
			how = "cached"
		}
		fmt.Fprintf(w, "  %-52s %s %7.1f MiB  %s\n", e.Ref, shortDigest(e.Digest), float64(e.Size)/(1<<20), how)
		idx.Images = append(idx.Images, e)
		total += e.Size
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(idx); err != nil {
		return err
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(absOut, "images.json"), buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(w, "  %d images, %.1f MiB in %s (index: images.json)\n", len(idx.Images), float64(total)/(1<<20), absOut)
	return nil
}

func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}
