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
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// formatVersion is part of every stamp: bump it when the image layout or the
// archive format changes, so cached archives are rebuilt.
const formatVersion = "k8simages/1"

// pathEnv is the PATH of every image: kubeadm's static pods run
// `command: [kube-apiserver, ...]` and rely on it.
const pathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// File is one binary in an image: Path inside the image, Source on disk.
type File struct {
	Path   string `json:"path"`
	Source string `json:"source"`
}

// Spec describes one image to build.
type Spec struct {
	Ref        string   // registry.k8s.io/kube-apiserver:v1.36.3
	Files      []File   // binaries, mode 0755
	Entrypoint []string // nil: unset (kubeadm passes command:)
	User       string   // "": root
	// Tree, when set, is a directory merged into the image's root first
	// (directories, regular files and symbolic links, modes kept): the
	// run-time files a binary needs, such as kube-proxy's iptables.
	Tree string
}

// binary is one file of a kind: where it goes and which -bin NAME fills it.
type binary struct {
	path     string
	bin      string
	optional bool
}

type kind struct {
	files      []binary
	entrypoint []string
	user       string
}

// kinds are the upstream layouts, keyed by the repository's last element.
var kinds = map[string]kind{
	// kube-*: upstream puts the binary on PATH in /usr/local/bin and leaves
	// the command to the pod spec (kubeadm's static pods set it).
	"kube-apiserver":          {files: []binary{{path: "/usr/local/bin/kube-apiserver", bin: "kube-apiserver"}}},
	"kube-controller-manager": {files: []binary{{path: "/usr/local/bin/kube-controller-manager", bin: "kube-controller-manager"}}},
	"kube-scheduler":          {files: []binary{{path: "/usr/local/bin/kube-scheduler", bin: "kube-scheduler"}}},
	// kube-proxy runs iptables at run time: hack/k8s-images.sh passes
	// -tree kube-proxy=DIR with iptables and its libraries from Debian
	// packages.
	"kube-proxy": {files: []binary{{path: "/usr/local/bin/kube-proxy", bin: "kube-proxy"}}},
	"etcd": {files: []binary{
		{path: "/usr/local/bin/etcd", bin: "etcd"},
		{path: "/usr/local/bin/etcdctl", bin: "etcdctl", optional: true},
	}},
	// Upstream coredns runs as nonroot with a file capability on /coredns;
	// here it runs as root, and kubeadm's Deployment drops all capabilities
	// but NET_BIND_SERVICE.
	"coredns": {files: []binary{{path: "/coredns", bin: "coredns"}}, entrypoint: []string{"/coredns"}},
	"pause":   {files: []binary{{path: "/pause", bin: "pause"}}, entrypoint: []string{"/pause"}, user: "65535:65535"},
}

// SpecFor returns the Spec of ref with binaries from bins (NAME -> path)
// and the tree trees names for its image (image name -> directory).
func SpecFor(ref string, bins, trees map[string]string) (Spec, error) {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return Spec{}, fmt.Errorf("image %q: %w", ref, err)
	}
	base := path.Base(tag.RepositoryStr())
	k, ok := kinds[base]
	if !ok {
		known := make([]string, 0, len(kinds))
		for n := range kinds {
			known = append(known, n)
		}
		sort.Strings(known)
		return Spec{}, fmt.Errorf("image %q: unknown image %q (known: %s)", ref, base, strings.Join(known, ", "))
	}
	s := Spec{Ref: tag.String(), Entrypoint: k.entrypoint, User: k.user, Tree: trees[base]}
	for _, b := range k.files {
		src := bins[b.bin]
		if src == "" {
			if b.optional {
				continue
			}
			return Spec{}, fmt.Errorf("image %q needs -bin %s=PATH", ref, b.bin)
		}
		s.Files = append(s.Files, File{Path: b.path, Source: src})
	}
	return s, nil
}

// Entry is one image in images.json.
type Entry struct {
	Name   string `json:"name"`   // registry.k8s.io/kube-apiserver
	Tag    string `json:"tag"`    // v1.36.3
	Ref    string `json:"ref"`    // registry.k8s.io/kube-apiserver:v1.36.3
	File   string `json:"file"`   // absolute path of the archive
	Digest string `json:"digest"` // manifest digest, as containerd reports it
	Size   int64  `json:"size"`   // archive size in bytes
	// ImageID is the config digest (`docker images --no-trunc` ID).
	ImageID string `json:"imageID"`
	// LayerSize is the compressed layer's size (what a pull would move).
	LayerSize int64  `json:"layerSize"`
	Files     []File `json:"files"`
}

// stamp records what an archive was built from.
type stamp struct {
	Inputs string `json:"inputs"`
	Entry  Entry  `json:"entry"`
}

// Make writes outDir/NAME.tar for s, unless a stamp says an identical one is
// there. cached reports which.
func Make(s Spec, outDir string, created time.Time) (e Entry, cached bool, err error) {
	tag, err := name.NewTag(s.Ref, name.StrictValidation)
	if err != nil {
		return Entry{}, false, err
	}
	outDir, err = filepath.Abs(outDir)
	if err != nil {
		return Entry{}, false, err
	}
	base := path.Base(tag.RepositoryStr())
	file := filepath.Join(outDir, base+".tar")
	stampFile := filepath.Join(outDir, "."+base+".stamp")

	inputs, err := inputsHash(s, created)
	if err != nil {
		return Entry{}, false, err
	}
	if b, err := os.ReadFile(stampFile); err == nil {
		var st stamp
		if json.Unmarshal(b, &st) == nil && st.Inputs == inputs && st.Entry.File == file {
			if fi, err := os.Stat(file); err == nil && fi.Size() == st.Entry.Size {
				return st.Entry, true, nil
			}
		}
	}

	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Entry{}, false, err
	}
	layerFile, err := writeLayer(s, outDir, created)
	if err != nil {
		return Entry{}, false, fmt.Errorf("%s: layer: %w", s.Ref, err)
	}
	defer func() { _ = os.Remove(layerFile) }()
	img, err := Image(s, layerFile, created)
	if err != nil {
		return Entry{}, false, fmt.Errorf("%s: %w", s.Ref, err)
	}
	size, err := WriteArchive(file, tag, img)
	if err != nil {
		return Entry{}, false, fmt.Errorf("%s: %w", s.Ref, err)
	}
	dgst, err := img.Digest()
	if err != nil {
		return Entry{}, false, err
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return Entry{}, false, err
	}
	layers, err := img.Layers()
	if err != nil {
		return Entry{}, false, err
	}
	layerSize, err := layers[0].Size()
	if err != nil {
		return Entry{}, false, err
	}
	e = Entry{
		Name:      tag.Context().Name(),
		Tag:       tag.TagStr(),
		Ref:       tag.String(),
		File:      file,
		Digest:    dgst.String(),
		Size:      size,
		ImageID:   cfgName.String(),
		LayerSize: layerSize,
		Files:     s.Files,
	}
	b, err := json.MarshalIndent(stamp{Inputs: inputs, Entry: e}, "", "  ")
	if err != nil {
		return Entry{}, false, err
	}
	if err := writeFileAtomic(stampFile, append(b, '\n')); err != nil {
		return Entry{}, false, err
	}
	return e, false, nil
}

// inputsHash hashes everything an archive depends on.
func inputsHash(s Spec, created time.Time) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\nref %s\ncreated %d\nentrypoint %q\nuser %q\nenv %q\n", formatVersion, s.Ref, created.Unix(), s.Entrypoint, s.User, pathEnv)
	for _, f := range s.Files {
		sum, err := fileSHA256(f.Source)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "file %s %s\n", f.Path, sum)
	}
	if s.Tree != "" {
		entries, err := treeEntries(s.Tree)
		if err != nil {
			return "", err
		}
		for _, e := range entries {
			sum := e.link
			if e.source != "" {
				if sum, err = fileSHA256(e.source); err != nil {
					return "", err
				}
			}
			fmt.Fprintf(h, "tree %s %o %s\n", e.name, e.mode, sum)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// treeEntries lists the directories, regular files and symbolic links under
// dir as layer entries, in walk order.
func treeEntries(dir string) ([]layerEntry, error) {
	var out []layerEntry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := int64(fi.Mode().Perm())
		switch {
		case fi.IsDir():
			out = append(out, layerEntry{name: rel + "/", mode: mode})
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out = append(out, layerEntry{name: rel, mode: 0o777, link: target})
		case fi.Mode().IsRegular():
			out = append(out, layerEntry{name: rel, mode: mode, source: p})
		default:
			return fmt.Errorf("tree %s: %s is neither a directory, a regular file nor a symbolic link", dir, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", dir, err)
	}
	return out, nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Minimal account files, as distroless has them (root, nobody, nonroot).
const (
	etcPasswd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	etcGroup = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"
)

// layerEntry is one file system entry of the layer.
type layerEntry struct {
	name   string // relative, "usr/local/bin/" for directories
	mode   int64
	data   []byte // for small files
	source string // for binaries
	link   string // target of a symbolic link
}

// writeLayer writes the gzipped layer tar of s into a temporary file in dir
// and returns its path.
func writeLayer(s Spec, dir string, created time.Time) (string, error) {
	entries := map[string]layerEntry{
		"etc/":       {name: "etc/", mode: 0o755},
		"etc/passwd": {name: "etc/passwd", mode: 0o644, data: []byte(etcPasswd)},
		"etc/group":  {name: "etc/group", mode: 0o644, data: []byte(etcGroup)},
		"tmp/":       {name: "tmp/", mode: 0o1777},
	}
	if s.Tree != "" {
		tree, err := treeEntries(s.Tree)
		if err != nil {
			return "", err
		}
		for _, e := range tree {
			if old, dup := entries[e.name]; dup && !strings.HasSuffix(e.name, "/") {
				return "", fmt.Errorf("tree %s: %q is also %s", s.Tree, e.name, describe(old))
			}
			entries[e.name] = e
		}
	}
	for _, f := range s.Files {
		rel := strings.TrimPrefix(path.Clean(f.Path), "/")
		if rel == "" || rel == "." || strings.HasPrefix(rel, "../") {
			return "", fmt.Errorf("bad path %q in image", f.Path)
		}
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			entries[d+"/"] = layerEntry{name: d + "/", mode: 0o755}
		}
		if old, dup := entries[rel]; dup {
			return "", fmt.Errorf("path %q of %s is also %s", f.Path, f.Source, describe(old))
		}
		entries[rel] = layerEntry{name: rel, mode: 0o755, source: f.Source}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)

	tmp, err := os.CreateTemp(dir, ".layer-*.tar.gz")
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	zw, err := gzip.NewWriterLevel(tmp, gzip.DefaultCompression)
	if err != nil {
		return "", err
	}
	tw := tar.NewWriter(zw)
	for _, n := range names {
		e := entries[n]
		hdr := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			ModTime: created,
			Uname:   "root",
			Gname:   "root",
			Format:  tar.FormatPAX,
		}
		switch {
		case strings.HasSuffix(n, "/"):
			hdr.Typeflag = tar.TypeDir
		case e.link != "":
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = e.link
		case e.source != "":
			fi, err := os.Stat(e.source)
			if err != nil {
				return "", err
			}
			if !fi.Mode().IsRegular() {
				return "", fmt.Errorf("%s is not a regular file", e.source)
			}
			hdr.Typeflag = tar.TypeReg
			hdr.Size = fi.Size()
		default:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return "", err
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if e.source == "" {
			if _, err := tw.Write(e.data); err != nil {
				return "", err
			}
			continue
		}
		if err := copyFile(tw, e.source, hdr.Size); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	ok = true
	return tmp.Name(), nil
}

// describe says what an entry is, for errors.
func describe(e layerEntry) string {
	switch {
	case e.source != "":
		return "in the image from " + e.source
	case e.link != "":
		return "a link to " + e.link
	default:
		return "one of the image's own files"
	}
}

func copyFile(w io.Writer, p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	n, err := io.Copy(w, f)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if n != size {
		return fmt.Errorf("%s changed while being read (%d bytes, expected %d)", p, n, size)
	}
	return nil
}

// Image assembles the single-layer image of s from a gzipped layer file.
func Image(s Spec, layerFile string, created time.Time) (v1.Image, error) {
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return os.Open(layerFile) })
	if err != nil {
		return nil, err
	}
	ts := v1.Time{Time: created.UTC()}
	paths := make([]string, 0, len(s.Files))
	for _, f := range s.Files {
		paths = append(paths, f.Path)
	}
	cfg := &v1.ConfigFile{
		Architecture: "amd64",
		OS:           "linux",
		Created:      ts,
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Env:        []string{pathEnv},
			Entrypoint: s.Entrypoint,
			User:       s.User,
			WorkingDir: "/",
		},
	}
	img, err := mutate.ConfigFile(empty.Image, cfg)
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   ts,
			CreatedBy: "kubebake hack/k8simages: " + strings.Join(paths, " "),
		},
	})
}

// ociLayoutFile is the oci-layout file of an OCI image layout.
const ociLayoutFile = `{"imageLayoutVersion":"1.0.0"}`

// dockerManifest is one entry of Docker's manifest.json.
type dockerManifest struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// WriteArchive writes img, tagged tag, to file atomically: an OCI image
// layout plus Docker's manifest.json, as `docker save` writes it. It returns
// the archive's size.
func WriteArchive(file string, tag name.Tag, img v1.Image) (int64, error) {
	rawManifest, err := img.RawManifest()
	if err != nil {
		return 0, err
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return 0, err
	}
	mfDigest, err := img.Digest()
	if err != nil {
		return 0, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return 0, err
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return 0, err
	}
	layers, err := img.Layers()
	if err != nil {
		return 0, err
	}
	blob := func(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

	index := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType: mt,
			Size:      int64(len(rawManifest)),
			Digest:    mfDigest,
			Annotations: map[string]string{
				// containerd (ctr images import) names the image after this;
				// the ref name is the OCI layout's own, as Docker writes it.
				"io.containerd.image.name":          tag.String(),
				"org.opencontainers.image.ref.name": tag.TagStr(),
			},
		}},
	}
	rawIndex, err := json.Marshal(index)
	if err != nil {
		return 0, err
	}
	dm := []dockerManifest{{Config: blob(cfgName), RepoTags: []string{tag.String()}}}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return 0, err
		}
		dm[0].Layers = append(dm[0].Layers, blob(d))
	}
	rawDocker, err := json.Marshal(dm)
	if err != nil {
		return 0, err
	}

	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return 0, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	tw := tar.NewWriter(tmp)
	epoch := time.Unix(0, 0)
	dir := func(n string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: n, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX})
	}
	small := func(n string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Size: int64(len(b)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := dir("blobs/"); err != nil {
		return 0, err
	}
	if err := dir("blobs/sha256/"); err != nil {
		return 0, err
	}
	if err := small(blob(cfgName), rawConfig); err != nil {
		return 0, err
	}
	for _, l := range layers {
		if err := writeLayerBlob(tw, l, blob, epoch); err != nil {
			return 0, err
		}
	}
	if err := small(blob(mfDigest), rawManifest); err != nil {
		return 0, err
	}
	if err := small("index.json", rawIndex); err != nil {
		return 0, err
	}
	if err := small("manifest.json", rawDocker); err != nil {
		return 0, err
	}
	if err := small("oci-layout", []byte(ociLayoutFile)); err != nil {
		return 0, err
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	fi, err := tmp.Stat()
	if err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return 0, err
	}
	ok = true
	return fi.Size(), nil
}

func writeLayerBlob(tw *tar.Writer, l v1.Layer, blob func(v1.Hash) string, mtime time.Time) error {
	d, err := l.Digest()
	if err != nil {
		return err
	}
	size, err := l.Size()
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }()
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: blob(d), Mode: 0o644, Size: size, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
		return err
	}
	n, err := io.Copy(tw, rc)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("layer %s: wrote %d bytes, expected %d", d, n, size)
	}
	return nil
}

func writeFileAtomic(file string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// Index is images.json.
type Index struct {
	KubernetesVersion string  `json:"kubernetesVersion,omitempty"`
	Images            []Entry `json:"images"`
}

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
