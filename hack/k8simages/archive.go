package main

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

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
