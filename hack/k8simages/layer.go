package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

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
		if err := mergeTree(entries, s.Tree); err != nil {
			return "", err
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
