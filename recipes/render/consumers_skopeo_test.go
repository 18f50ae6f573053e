package render_test

import (
	"archive/tar"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// ---------------------------------------------------------------------------
// CRI-O's image archive import, run as rendered with the real skopeo
// (Debian's, from hack/validators.sh) into a containers-storage of its own
// (the vfs driver under the test's directory, through
// CONTAINERS_STORAGE_CONF), on archives written the ways users have them.

// archiveImage is an image an archive holds and the name it must be stored
// under; digest is its manifest's when skopeo must preserve it.
type archiveImage struct {
	name   string
	digest string
}

func TestConsumersCRIOArchiveImport(t *testing.T) {
	skopeo := consumerBinary(t, "skopeo")
	if os.Geteuid() != 0 {
		msg := "containers-storage outside a user namespace needs root"
		if os.Getenv(consumerRequireEnv) == "1" {
			t.Fatalf("%s; %s=1 requires every consumer", msg, consumerRequireEnv)
		}
		t.Skip(msg)
	}
	fn := crioImportFunctions(t)
	dir := t.TempDir()
	dockerImg := randomImage(t, types.DockerManifestSchema2)
	ociA, ociB := randomImage(t, types.OCIManifestSchema1), randomImage(t, types.OCIManifestSchema1)
	tests := []struct {
		name    string
		write   func(t *testing.T, file string)
		want    []archiveImage
		wantErr string
	}{
		{
			// What hack/k8s-images writes, and docker save (25+) and ctr
			// export: an OCI layout naming the image in an annotation, the
			// manifest Docker-typed.
			name: "oci layout, one image",
			write: func(t *testing.T, file string) {
				writeLayoutArchive(t, file, map[string]v1.Image{"registry.example/one:1.0": dockerImg})
			},
			want: []archiveImage{{"registry.example/one:1.0", digestOf(t, dockerImg)}},
		},
		{
			name: "oci layout, two images",
			write: func(t *testing.T, file string) {
				writeLayoutArchive(t, file, map[string]v1.Image{"registry.example/a:1": ociA, "registry.example/b:2": ociB})
			},
			want: []archiveImage{{"registry.example/a:1", digestOf(t, ociA)}, {"registry.example/b:2", digestOf(t, ociB)}},
		},
		{
			// docker save before 25 (and podman save): manifest.json only.
			// skopeo writes a manifest of its own, so no digest to keep.
			name: "docker save",
			write: func(t *testing.T, file string) {
				ref, err := name.NewTag("registry.example/saved:3")
				require.NoError(t, err)
				require.NoError(t, tarball.WriteToFile(file, ref, dockerImg))
			},
			want: []archiveImage{{name: "registry.example/saved:3"}},
		},
		{
			name: "an archive that names no image",
			write: func(t *testing.T, file string) {
				writeTar(t, file, map[string][]byte{"index.json": []byte(`{"schemaVersion":2,"manifests":[]}`)})
			},
			wantErr: "names no image (no io.containerd.image.name in index.json, no RepoTags in manifest.json)",
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			work := filepath.Join(dir, string(rune('a'+i)))
			require.NoError(t, os.MkdirAll(work, 0o755))
			archive := filepath.Join(work, "image.tar")
			tc.write(t, archive)
			conf := filepath.Join(work, "storage.conf")
			require.NoError(t, os.WriteFile(conf, []byte("[storage]\ndriver = \"vfs\"\ngraphroot = \""+work+"/root\"\nrunroot = \""+work+"/run\"\n"), 0o644))
			cmd := exec.Command("bash", "-c", fn+"\nset -euo pipefail\nkb_crio_import \"$1\"\n", "import", archive)
			cmd.Env = append(os.Environ(), "CONTAINERS_STORAGE_CONF="+conf, "PATH="+filepath.Dir(skopeo)+":"+os.Getenv("PATH"))
			out, err := cmd.CombinedOutput()
			if tc.wantErr != "" {
				require.Error(t, err, "%s", out)
				assert.Contains(t, string(out), tc.wantErr)
				return
			}
			require.NoError(t, err, "%s", out)
			got := storedImages(t, filepath.Join(work, "root"))
			for _, w := range tc.want {
				digest, ok := got[w.name]
				if assert.True(t, ok, "%s is not in the store: %v", w.name, got) && w.digest != "" {
					assert.Equal(t, w.digest, digest, "%s keeps its manifest digest", w.name)
				}
			}
			assert.Len(t, got, len(tc.want))
		})
	}
}

// crioImportFunctions cuts kb_crio_import and its helpers out of the images
// step that a CRI-O recipe with archives renders.
func crioImportFunctions(t *testing.T) string {
	t.Helper()
	l, err := recipes.Decode("import.yaml", []byte(`apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: import
from: debian-13-cri-o
images:
  archives: [/srv/images/a.tar]
`))
	require.NoError(t, err)
	rn, err := render.New()
	require.NoError(t, err)
	p, err := rn.Render(l)
	require.NoError(t, err)
	for _, s := range p.Steps {
		if s.Name != "images" {
			continue
		}
		body := string(s.Body)
		start := strings.Index(body, "kb_crio_import() {")
		end := strings.Index(body, "\nkb_json_field() {")
		require.True(t, start >= 0 && end > start, "the images step defines kb_crio_import, then kb_json_field:\n%s", body)
		rest := body[end+1:]
		return body[start:end+1] + rest[:strings.Index(rest, "\n")+1]
	}
	require.FailNow(t, "no images step")
	return ""
}

// randomImage is a small random image with the manifest media type mt.
func randomImage(t *testing.T, mt types.MediaType) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	require.NoError(t, err)
	if mt == types.OCIManifestSchema1 {
		img = mutate.ConfigMediaType(mutate.MediaType(img, mt), types.OCIConfigJSON)
	}
	return img
}

func digestOf(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	require.NoError(t, err)
	return d.String()
}

// writeLayoutArchive writes an OCI image layout as a tar, each image
// annotated with its name as containerd and Docker write it.
func writeLayoutArchive(t *testing.T, file string, imgs map[string]v1.Image) {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	require.NoError(t, err)
	for ref, img := range imgs {
		tag, err := name.NewTag(ref)
		require.NoError(t, err)
		require.NoError(t, p.AppendImage(img, layout.WithAnnotations(map[string]string{
			"io.containerd.image.name":          tag.String(),
			"org.opencontainers.image.ref.name": tag.TagStr(),
		})))
	}
	files := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err == nil {
			files[filepath.ToSlash(rel)], err = os.ReadFile(path)
		}
		return err
	}))
	writeTar(t, file, files)
}

func writeTar(t *testing.T, file string, files map[string][]byte) {
	t.Helper()
	f, err := os.Create(file)
	require.NoError(t, err)
	tw := tar.NewWriter(f)
	for n, b := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}))
		_, err := tw.Write(b)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, f.Close())
}

// storedImages reads a vfs containers-storage's image list: name to
// manifest digest.
func storedImages(t *testing.T, graphroot string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(graphroot, "vfs-images", "images.json"))
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(f)
	require.NoError(t, err)
	var imgs []struct {
		Names  []string `json:"names"`
		Digest string   `json:"digest"`
	}
	require.NoError(t, json.Unmarshal(data, &imgs))
	out := map[string]string{}
	for _, img := range imgs {
		for _, n := range img.Names {
			out[n] = img.Digest
		}
	}
	return out
}
