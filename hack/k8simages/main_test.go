package main

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fakeBinary = "#!/bin/sh\necho fake coredns\n"

func fakeSpec(t *testing.T) Spec {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "coredns")
	require.NoError(t, os.WriteFile(bin, []byte(fakeBinary), 0o755))
	s, err := SpecFor("registry.k8s.io/coredns/coredns:v1.14.2", map[string]string{"coredns": bin}, nil)
	require.NoError(t, err)
	return s
}

// layerHeaders reads the only layer of archive file's image ref: headers and
// the content of regular files.
func layerHeaders(t *testing.T, file, ref string) (map[string]*tar.Header, map[string]string) {
	t.Helper()
	tag, err := name.NewTag(ref)
	require.NoError(t, err)
	img, err := tarball.ImageFromPath(file, &tag)
	require.NoError(t, err)
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer func() { _ = rc.Close() }()
	hdrs, contents := map[string]*tar.Header{}, map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hdrs, contents
		}
		require.NoError(t, err)
		hdrs[h.Name] = h
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			contents[h.Name] = string(b)
		}
	}
}

func TestMakeMergesTree(t *testing.T) {
	tree := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(tree, "usr/sbin"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(tree, "usr/local/bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tree, "usr/sbin/xtables-nft-multi"), []byte("multi"), 0o750))
	require.NoError(t, os.Symlink("xtables-nft-multi", filepath.Join(tree, "usr/sbin/iptables")))
	bin := filepath.Join(t.TempDir(), "kube-proxy")
	require.NoError(t, os.WriteFile(bin, []byte("proxy"), 0o755))
	ref := "registry.k8s.io/kube-proxy:v1.36.3"
	s, err := SpecFor(ref, map[string]string{"kube-proxy": bin}, map[string]string{"kube-proxy": tree, "coredns": "/elsewhere"})
	require.NoError(t, err)
	assert.Equal(t, tree, s.Tree)

	out := t.TempDir()
	e, _, err := Make(s, out, time.Unix(0, 0).UTC())
	require.NoError(t, err)
	hdrs, contents := layerHeaders(t, e.File, ref)
	require.Contains(t, hdrs, "usr/sbin/iptables")
	assert.Equal(t, byte(tar.TypeSymlink), hdrs["usr/sbin/iptables"].Typeflag)
	assert.Equal(t, "xtables-nft-multi", hdrs["usr/sbin/iptables"].Linkname)
	assert.Equal(t, "multi", contents["usr/sbin/xtables-nft-multi"])
	assert.Equal(t, int64(0o750), hdrs["usr/sbin/xtables-nft-multi"].Mode)
	assert.Equal(t, "proxy", contents["usr/local/bin/kube-proxy"], "the binary is there too")
	assert.Contains(t, hdrs, "etc/passwd")

	// A changed tree rebuilds the image; a tree that collides with the
	// image's own files is an error naming both.
	_, cached, err := Make(s, out, time.Unix(0, 0).UTC())
	require.NoError(t, err)
	assert.True(t, cached)
	require.NoError(t, os.WriteFile(filepath.Join(tree, "usr/sbin/xtables-nft-multi"), []byte("multi2"), 0o750))
	_, cached, err = Make(s, out, time.Unix(0, 0).UTC())
	require.NoError(t, err)
	assert.False(t, cached)
	require.NoError(t, os.WriteFile(filepath.Join(tree, "usr/local/bin/kube-proxy"), []byte("other"), 0o755))
	_, _, err = Make(s, out, time.Unix(0, 0).UTC())
	require.ErrorContains(t, err, `path "/usr/local/bin/kube-proxy" of `+bin+` is also in the image from `+filepath.Join(tree, "usr/local/bin/kube-proxy"))
}

func TestMakeWritesLoadableDeterministicArchive(t *testing.T) {
	s := fakeSpec(t)
	created := time.Unix(0, 0).UTC()

	dir1 := t.TempDir()
	e1, cached, err := Make(s, dir1, created)
	require.NoError(t, err)
	assert.False(t, cached)
	assert.Equal(t, filepath.Join(dir1, "coredns.tar"), e1.File)
	assert.Equal(t, "registry.k8s.io/coredns/coredns", e1.Name)
	assert.Equal(t, "v1.14.2", e1.Tag)

	// Read back with go-containerregistry, selecting the exact tag.
	tag, err := name.NewTag("registry.k8s.io/coredns/coredns:v1.14.2")
	require.NoError(t, err)
	img, err := tarball.ImageFromPath(e1.File, &tag)
	require.NoError(t, err)
	d, err := img.Digest()
	require.NoError(t, err)
	assert.Equal(t, e1.Digest, d.String(), "digest recorded vs digest of the archive read back")

	cfg, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, []string{"/coredns"}, cfg.Config.Entrypoint)
	assert.Equal(t, []string{pathEnv}, cfg.Config.Env)
	assert.Equal(t, "amd64", cfg.Architecture)
	assert.Equal(t, "linux", cfg.OS)
	assert.True(t, cfg.Created.Equal(created))

	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer func() { _ = rc.Close() }()
	files := map[string]*tar.Header{}
	var content []byte
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		files[h.Name] = h
		if h.Name == "coredns" {
			content, err = io.ReadAll(tr)
			require.NoError(t, err)
		}
	}
	require.Contains(t, files, "coredns")
	assert.Equal(t, int64(0o755), files["coredns"].Mode)
	assert.Equal(t, fakeBinary, string(content))
	assert.Contains(t, files, "etc/passwd")
	for n, h := range files {
		assert.True(t, h.ModTime.Equal(created), "%s: mtime %v", n, h.ModTime)
		assert.Zero(t, h.Uid, n)
	}

	// The OCI index names the image for containerd and points at the same
	// manifest digest.
	var idx struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	require.NoError(t, json.Unmarshal(readMember(t, e1.File, "index.json"), &idx))
	require.Len(t, idx.Manifests, 1)
	assert.Equal(t, e1.Digest, idx.Manifests[0].Digest)
	assert.Equal(t, "registry.k8s.io/coredns/coredns:v1.14.2", idx.Manifests[0].Annotations["io.containerd.image.name"])

	// A second, independent run gives the same bytes.
	dir2 := t.TempDir()
	e2, _, err := Make(s, dir2, created)
	require.NoError(t, err)
	assert.Equal(t, e1.Digest, e2.Digest)
	assert.Equal(t, e1.Size, e2.Size)
	b1, err := os.ReadFile(e1.File)
	require.NoError(t, err)
	b2, err := os.ReadFile(e2.File)
	require.NoError(t, err)
	assert.Equal(t, b1, b2, "archives differ between runs")

	// Same inputs in the same directory: cached. Changed binary: rebuilt.
	e3, cached, err := Make(s, dir1, created)
	require.NoError(t, err)
	assert.True(t, cached)
	assert.Equal(t, e1, e3)
	require.NoError(t, os.WriteFile(s.Files[0].Source, []byte(fakeBinary+"# changed\n"), 0o755))
	e4, cached, err := Make(s, dir1, created)
	require.NoError(t, err)
	assert.False(t, cached)
	assert.NotEqual(t, e1.Digest, e4.Digest)
}

func TestSpecFor(t *testing.T) {
	bins := map[string]string{"kube-apiserver": "/b/kube-apiserver", "etcd": "/b/etcd", "pause": "/b/pause"}

	s, err := SpecFor("registry.k8s.io/kube-apiserver:v1.36.3", bins, nil)
	require.NoError(t, err)
	assert.Equal(t, []File{{Path: "/usr/local/bin/kube-apiserver", Source: "/b/kube-apiserver"}}, s.Files)
	assert.Nil(t, s.Entrypoint)

	s, err = SpecFor("registry.k8s.io/etcd:3.6.8-0", bins, nil) // etcdctl is optional
	require.NoError(t, err)
	assert.Equal(t, []File{{Path: "/usr/local/bin/etcd", Source: "/b/etcd"}}, s.Files)

	s, err = SpecFor("registry.k8s.io/pause:3.10.2", bins, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"/pause"}, s.Entrypoint)
	assert.Equal(t, "65535:65535", s.User)

	_, err = SpecFor("registry.k8s.io/kube-scheduler:v1.36.3", bins, nil)
	assert.ErrorContains(t, err, "-bin kube-scheduler=PATH")
	_, err = SpecFor("registry.k8s.io/nginx:1", bins, nil)
	assert.ErrorContains(t, err, "unknown image")
}

func readMember(t *testing.T, archive, member string) []byte {
	t.Helper()
	f, err := os.Open(archive)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		require.NoError(t, err, "no %s in %s", member, archive)
		if h.Name == member {
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			return b
		}
	}
}
