package testutil

import (
	"archive/tar"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// DirFiles maps each regular file under dir, by its slash-separated path
// relative to dir, to its permissions and content ("-rw-r--r-- text").
func DirFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = info.Mode().Perm().String() + " " + string(b)
		return nil
	})
	if err != nil {
		t.Fatalf("files under %s: %v", dir, err)
	}
	return out
}

// TarFiles reads the tar archive at the start of file (a stage disk: the
// archive, then whatever the disk holds after it) with archive/tar, as
// DirFiles lists a directory; every entry must be a regular file.
func TarFiles(t testing.TB, file string) map[string]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("tar %s: %v", file, err)
		}
		if h.Typeflag != tar.TypeReg {
			t.Fatalf("tar %s: %s is not a regular file (type %c)", file, h.Name, h.Typeflag)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("tar %s: %s: %v", file, h.Name, err)
		}
		out[h.Name] = os.FileMode(h.Mode).Perm().String() + " " + string(b)
	}
}
