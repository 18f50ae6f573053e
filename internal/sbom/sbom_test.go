package sbom

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/package-url/packageurl-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdxlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/manifest"
)

const (
	imageSum   = "1111111111111111111111111111111111111111111111111111111111111111"
	kubeletSum = "2222222222222222222222222222222222222222222222222222222222222222"
	pauseSum   = "3333333333333333333333333333333333333333333333333333333333333333"
	etcdID     = "4444444444444444444444444444444444444444444444444444444444444444"
)

func fixedMeta() Meta {
	return Meta{
		Name: "debian-13-containerd", File: "debian-13-containerd.qcow2", SHA256: imageSum, Version: "v1.36.3",
		Comment: "recipe debian-13-containerd", Tool: "kubebake-0.1.0", Created: time.Date(2026, 12, 2, 15, 4, 5, 0, time.UTC),
	}
}

func fixedInventory() Inventory {
	return Inventory{
		OS: OS{ID: "debian", VersionID: "13"},
		Packages: []Package{
			{Format: FormatDeb, Name: "kubelet", Version: "1.36.3-1.1", Arch: "amd64"},
			{Format: FormatDeb, Name: "base-files", Version: "13.8+deb13u1", Arch: "amd64"},
			{Format: FormatDeb, Name: "libc6", Version: "2.41-12", Arch: "amd64"},
			{Format: FormatDeb, Name: "libc6", Version: "2.41-12", Arch: "i386"},
			{Format: FormatDeb, Name: "util-linux", Version: "1:2.41-5", Arch: "amd64"},
		},
		Binaries: []Binary{{Name: "kubelet", Path: "/usr/bin/kubelet", SHA256: kubeletSum, Version: "v1.36.3"}},
		Images: []Image{
			{Repository: "registry.k8s.io/pause", Tag: "3.10.2", Digest: "sha256:" + pauseSum},
			{Repository: "localhost:5000/etcd", Tag: "3.6.8-0", Digest: "sha256:" + etcdID, DigestIsID: true, OtherTags: []string{"registry.k8s.io/etcd:3.6.8-0"}},
		},
	}
}

// TestBuildReadsBack builds the SBOM of a fixed inventory and reads it
// with the SPDX library's own JSON parser: the document is SPDX 2.3, its
// relationships are valid, it describes the image, and the image contains
// each package with its version, checksum and purl.
func TestBuildReadsBack(t *testing.T) {
	t.Parallel()
	b, err := Build(fixedMeta(), fixedInventory())
	require.NoError(t, err)

	doc, err := spdxjson.Read(bytes.NewReader(b))
	require.NoError(t, err)
	require.NoError(t, spdxlib.ValidateDocument(doc))
	assert.Equal(t, "SPDX-2.3", doc.SPDXVersion)
	assert.Equal(t, "CC0-1.0", doc.DataLicense)
	assert.Equal(t, "https://kubebake.dev/spdxdocs/debian-13-containerd-"+imageSum, doc.DocumentNamespace)
	assert.Equal(t, []common.Creator{{CreatorType: "Tool", Creator: "kubebake-0.1.0"}}, doc.CreationInfo.Creators)
	assert.Equal(t, "2026-12-02T15:04:05Z", doc.CreationInfo.Created)
	described, err := spdxlib.GetDescribedPackageIDs(doc)
	require.NoError(t, err)
	assert.Equal(t, []common.ElementID{"Image"}, described)

	byID := map[common.ElementID]string{}
	purls := map[string]string{}
	sums := map[string]string{}
	for _, p := range doc.Packages {
		byID[p.PackageSPDXIdentifier] = p.PackageName + "@" + p.PackageVersion
		assert.Equal(t, "NOASSERTION", p.PackageSupplier.Supplier, p.PackageName)
		for _, r := range p.PackageExternalReferences {
			purls[p.PackageName+"@"+p.PackageVersion] = r.Locator
			_, err := packageurl.FromString(r.Locator)
			assert.NoError(t, err, "%s is a valid purl", r.Locator)
		}
		for _, c := range p.PackageChecksums {
			sums[p.PackageName] = string(c.Algorithm) + ":" + c.Value
		}
	}
	var contains []string
	for _, r := range doc.Relationships {
		if r.Relationship == "CONTAINS" {
			assert.Equal(t, common.ElementID("Image"), r.RefA.ElementRefID)
			contains = append(contains, byID[r.RefB.ElementRefID])
		}
	}
	assert.ElementsMatch(t, []string{
		"base-files@13.8+deb13u1", "kubelet@1.36.3-1.1", "libc6@2.41-12", "libc6@2.41-12", "util-linux@1:2.41-5",
		"kubelet@v1.36.3", "registry.k8s.io/pause@3.10.2", "localhost:5000/etcd@3.6.8-0",
	}, contains, "the image contains every package")
	assert.Equal(t, "pkg:deb/debian/util-linux@1:2.41-5?arch=amd64&distro=debian-13", purls["util-linux@1:2.41-5"])
	assert.Equal(t, "pkg:oci/pause@sha256:"+pauseSum+"?repository_url=registry.k8s.io%2Fpause&tag=3.10.2", purls["registry.k8s.io/pause@3.10.2"])
	assert.Equal(t, "SHA256:"+kubeletSum, sums["kubelet"])
	assert.Equal(t, "SHA256:"+imageSum, sums["debian-13-containerd"])
	assert.Contains(t, string(b), `"referenceCategory": "PACKAGE-MANAGER"`)

	_, root, inv, err := Read(b)
	require.NoError(t, err)
	assert.Equal(t, Root{Name: "debian-13-containerd", File: "debian-13-containerd.qcow2", SHA256: imageSum, Version: "v1.36.3"}, root)
	want := fixedInventory()
	assert.ElementsMatch(t, want.Packages, inv.Packages)
	assert.Equal(t, want.Binaries, inv.Binaries)
	assert.Equal(t, want.Images, inv.Images)
	assert.Equal(t, want.OS, inv.OS)
}

func TestBuildRPM(t *testing.T) {
	t.Parallel()
	inv := Inventory{OS: OS{ID: "rocky", VersionID: "9.6"}, Packages: []Package{
		{Format: FormatRPM, Name: "shadow-utils", Version: "2:4.9-12.el9", Arch: "x86_64"},
		{Format: FormatRPM, Name: "bash", Version: "5.1.8-9.el9", Arch: "x86_64"},
	}}
	b, err := Build(fixedMeta(), inv)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"referenceLocator": "pkg:rpm/rocky/shadow-utils@4.9-12.el9?arch=x86_64\u0026distro=rocky-9.6\u0026epoch=2"`)
	_, _, got, err := Read(b)
	require.NoError(t, err)
	assert.ElementsMatch(t, inv.Packages, got.Packages)
	assert.Equal(t, inv.OS, got.OS)
}

func TestBuildRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Meta, *Inventory)
		want   string
	}{
		{name: "no name", mutate: func(m *Meta, _ *Inventory) { m.Name = "" }, want: "name is empty"},
		{name: "short image sum", mutate: func(m *Meta, _ *Inventory) { m.SHA256 = "abc" }, want: `image sha256 "abc"`},
		{name: "no tool", mutate: func(m *Meta, _ *Inventory) { m.Tool = "" }, want: "creating tool"},
		{name: "no distro", mutate: func(_ *Meta, i *Inventory) { i.OS.ID = "" }, want: "distribution's ID is empty"},
		{name: "unknown format", mutate: func(_ *Meta, i *Inventory) { i.Packages[0].Format = "apk" }, want: `format "apk"`},
		{name: "package without version", mutate: func(_ *Meta, i *Inventory) { i.Packages[0].Version = "" }, want: `package "kubelet"`},
		{name: "binary sum", mutate: func(_ *Meta, i *Inventory) { i.Binaries[0].SHA256 = "x" }, want: "binary /usr/bin/kubelet"},
		{name: "image digest", mutate: func(_ *Meta, i *Inventory) { i.Images[0].Digest = "md5:1" }, want: `registry.k8s.io/pause:3.10.2: digest "md5:1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, inv := fixedMeta(), fixedInventory()
			tc.mutate(&m, &inv)
			_, err := Build(m, inv)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestReadRefuses(t *testing.T) {
	t.Parallel()
	good, err := Build(fixedMeta(), fixedInventory())
	require.NoError(t, err)
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{name: "not JSON", doc: "kubelet 1.36", want: "SPDX JSON"},
		{name: "SPDX 2.2", doc: strings.Replace(string(good), `"SPDX-2.3"`, `"SPDX-2.2"`, 1), want: "want SPDX-2.3"},
		{name: "dangling relationship", doc: strings.Replace(string(good), `"relatedSpdxElement": "SPDXRef-Binary-kubelet"`, `"relatedSpdxElement": "SPDXRef-Gone"`, 1), want: "Gone used in relationship"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.NotEqual(t, string(good), tc.doc)
			_, _, _, err := Read([]byte(tc.doc))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestImagesFromRuntime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   manifest.RuntimeImage
		want Image
	}{
		{
			name: "pulled",
			in:   manifest.RuntimeImage{ID: "sha256:" + etcdID, RepoTags: []string{"registry.k8s.io/pause:3.10.2"}, RepoDigests: []string{"registry.k8s.io/pause@sha256:" + pauseSum}},
			want: Image{Repository: "registry.k8s.io/pause", Tag: "3.10.2", Digest: "sha256:" + pauseSum},
		},
		{
			name: "imported, two tags, registry port",
			in:   manifest.RuntimeImage{ID: "sha256:" + etcdID, RepoTags: []string{"localhost:5000/etcd:3.6.8-0", "registry.k8s.io/etcd:3.6.8-0"}},
			want: Image{Repository: "localhost:5000/etcd", Tag: "3.6.8-0", OtherTags: []string{"registry.k8s.io/etcd:3.6.8-0"}, Digest: "sha256:" + etcdID, DigestIsID: true},
		},
		{
			name: "untagged with a digest",
			in:   manifest.RuntimeImage{ID: "sha256:" + etcdID, RepoDigests: []string{"registry.k8s.io/pause@sha256:" + pauseSum}},
			want: Image{Repository: "registry.k8s.io/pause", Digest: "sha256:" + pauseSum},
		},
		{
			name: "no tag in the name",
			in:   manifest.RuntimeImage{ID: "sha256:" + etcdID, RepoTags: []string{"localhost:5000/etcd"}},
			want: Image{Repository: "localhost:5000/etcd", Digest: "sha256:" + etcdID, DigestIsID: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, []Image{tc.want}, ImagesFromRuntime([]manifest.RuntimeImage{tc.in}))
		})
	}
}
