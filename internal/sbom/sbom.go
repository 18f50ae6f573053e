// Package sbom is the software bill of materials a bake writes beside its
// image: an SPDX 2.3 JSON document (github.com/spdx/tools-golang) that
// lists the image's OS packages with their versions (from its package
// database), the Kubernetes and runtime binaries with their versions and
// sha256, and the container images pre-loaded in the runtime's store with
// their digests. Build is pure (an Inventory in, the document's bytes out);
// Read is its inverse with the library's own parser, for kubebake test.
// Probe (probe.go) is the script that gathers an Inventory on the
// provisioned machine and the parsers of what it prints.
package sbom

import (
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/package-url/packageurl-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/kubebake/kubebake/internal/manifest"
)

// Package formats of OS packages.
const (
	FormatDeb = "deb"
	FormatRPM = "rpm"
)

// Inventory is what an image holds.
type Inventory struct {
	// OS is the distribution, from /etc/os-release.
	OS OS `json:"os"`
	// Packages are the installed OS packages, from the package database.
	Packages []Package `json:"packages"`
	// Binaries are the Kubernetes and runtime binaries.
	Binaries []Binary `json:"binaries"`
	// Images are the images in the runtime's store.
	Images []Image `json:"images"`
}

// OS is /etc/os-release's ID and VERSION_ID (debian 13, rocky 9.6).
type OS struct {
	ID        string `json:"id"`
	VersionID string `json:"versionID"`
}

// Package is an installed OS package.
type Package struct {
	// Format is deb or rpm.
	Format string `json:"format"`
	Name   string `json:"name"`
	// Version is the version as the package manager writes it: dpkg's
	// [EPOCH:]UPSTREAM[-REVISION], rpm's [EPOCH:]VERSION-RELEASE.
	Version string `json:"version"`
	Arch    string `json:"arch"`
}

// Key identifies a package in a database: its name and architecture.
func (p Package) Key() string { return p.Name + ":" + p.Arch }

// Binary is an executable file in the image.
type Binary struct {
	Name string `json:"name"`
	// Path is the file's absolute path in the image (symbolic links
	// resolved).
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	// Version is what the binary says it is; empty when it cannot tell.
	Version string `json:"version,omitempty"`
}

// Image is an image in the runtime's store.
type Image struct {
	// Repository and Tag are its first name (registry.k8s.io/pause,
	// 3.10.2); OtherTags lists the rest as repository:tag.
	Repository string   `json:"repository"`
	Tag        string   `json:"tag"`
	OtherTags  []string `json:"otherTags,omitempty"`
	// Digest is the registry (manifest) digest when the runtime knows
	// one, else the image ID; DigestIsID says which.
	Digest     string `json:"digest"`
	DigestIsID bool   `json:"digestIsID,omitempty"`
}

// ImagesFromRuntime turns the runtime's store (`crictl images -o json`,
// as the manifest records it) into SBOM images.
func ImagesFromRuntime(in []manifest.RuntimeImage) []Image {
	out := make([]Image, 0, len(in))
	for _, ri := range in {
		img := Image{Digest: ri.ID, DigestIsID: true}
		if len(ri.RepoDigests) > 0 {
			if _, d, ok := strings.Cut(ri.RepoDigests[0], "@"); ok {
				img.Digest, img.DigestIsID = d, false
			}
		}
		if len(ri.RepoTags) > 0 {
			img.Repository, img.Tag = splitTag(ri.RepoTags[0])
			img.OtherTags = append(img.OtherTags, ri.RepoTags[1:]...)
		} else if len(ri.RepoDigests) > 0 {
			img.Repository, _, _ = strings.Cut(ri.RepoDigests[0], "@")
		}
		out = append(out, img)
	}
	return out
}

// splitTag splits repository:tag; a colon before the last slash is a
// registry's port.
func splitTag(ref string) (repo, tag string) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || i < strings.LastIndex(ref, "/") {
		return ref, ""
	}
	return ref[:i], ref[i+1:]
}

// Meta says what the document describes and who made it.
type Meta struct {
	// Name is the image's name: the document's and the root package's.
	Name string
	// File is the image's file name and SHA256 its sha256 (hex); the
	// document's namespace derives from both, so it is unique per image.
	File, SHA256 string
	// Version is the root package's version (the Kubernetes version).
	Version string
	// Comment describes the image (recipe, runtime, plan digest).
	Comment string
	// Tool is the creating tool and its version: kubebake-0.1.0.
	Tool string
	// Created is when the document was made.
	Created time.Time
}

// ToolVersion is kubebake's version for Meta.Tool: the one given, else the
// module's (a go install of a release), else dev.
func ToolVersion(v string) string {
	if v != "" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// NamespacePrefix starts every kubebake SBOM's document namespace.
const NamespacePrefix = "https://kubebake.dev/spdxdocs/"

// rootID is the root package's SPDX identifier (SPDXRef-Image).
const rootID common.ElementID = "Image"

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Build makes the SPDX 2.3 JSON document of an image: the document
// DESCRIBES a root package for the image, which CONTAINS one package per
// OS package, binary and container image.
func Build(m Meta, inv Inventory) ([]byte, error) {
	if m.Name == "" {
		return nil, fmt.Errorf("sbom: the image's name is empty")
	}
	if !sha256RE.MatchString(m.SHA256) {
		return nil, fmt.Errorf("sbom: image sha256 %q is not 64 hex digits", m.SHA256)
	}
	if m.Tool == "" {
		return nil, fmt.Errorf("sbom: the creating tool is empty")
	}
	ids := idSet{}
	root := &v2_3.Package{
		PackageName: m.Name, PackageSPDXIdentifier: ids.add(string(rootID)), PackageVersion: m.Version,
		PackageFileName: m.File, PrimaryPackagePurpose: "OPERATING-SYSTEM", PackageComment: m.Comment,
		PackageChecksums: []common.Checksum{{Algorithm: common.SHA256, Value: m.SHA256}},
	}
	noAssertion(root)
	doc := &v2_3.Document{
		SPDXVersion: v2_3.Version, DataLicense: v2_3.DataLicense, SPDXIdentifier: "DOCUMENT",
		DocumentName:      m.Name,
		DocumentNamespace: NamespacePrefix + url.PathEscape(m.Name) + "-" + m.SHA256,
		CreationInfo: &v2_3.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: m.Tool}},
			Created:  m.Created.UTC().Format(time.RFC3339),
		},
		Packages: []*v2_3.Package{root},
		Relationships: []*v2_3.Relationship{{
			RefA: common.MakeDocElementID("", "DOCUMENT"), RefB: common.MakeDocElementID("", string(rootID)),
			Relationship: common.TypeRelationshipDescribe,
		}},
	}
	add := func(p *v2_3.Package) {
		noAssertion(p)
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, &v2_3.Relationship{
			RefA: common.MakeDocElementID("", string(rootID)), RefB: common.MakeDocElementID("", string(p.PackageSPDXIdentifier)),
			Relationship: common.TypeRelationshipContains,
		})
	}
	for _, p := range sortedPackages(inv.Packages) {
		purl, err := osPURL(inv.OS, p)
		if err != nil {
			return nil, err
		}
		add(&v2_3.Package{
			PackageName: p.Name, PackageSPDXIdentifier: ids.add("Package-" + p.Format + "-" + p.Name + "-" + p.Arch),
			PackageVersion: p.Version, PackageExternalReferences: []*v2_3.PackageExternalReference{purlRef(purl)},
		})
	}
	for _, b := range inv.Binaries {
		if !sha256RE.MatchString(b.SHA256) {
			return nil, fmt.Errorf("sbom: binary %s: sha256 %q is not 64 hex digits", b.Path, b.SHA256)
		}
		add(&v2_3.Package{
			PackageName: b.Name, PackageSPDXIdentifier: ids.add("Binary-" + b.Name), PackageVersion: b.Version,
			PackageFileName: b.Path, PrimaryPackagePurpose: "FILE",
			PackageChecksums: []common.Checksum{{Algorithm: common.SHA256, Value: b.SHA256}},
		})
	}
	for _, img := range inv.Images {
		p, err := imagePackage(img)
		if err != nil {
			return nil, err
		}
		p.PackageSPDXIdentifier = ids.add("ContainerImage-" + img.Repository + "-" + img.Tag)
		add(p)
	}
	var b bytes.Buffer
	if err := spdxjson.Write(doc, &b, spdxjson.Indent("  ")); err != nil {
		return nil, fmt.Errorf("sbom: %w", err)
	}
	return b.Bytes(), nil
}

// noAssertion fills the fields kubebake does not know with NOASSERTION.
func noAssertion(p *v2_3.Package) {
	p.PackageSupplier = &common.Supplier{Supplier: "NOASSERTION"}
	p.PackageDownloadLocation = "NOASSERTION"
	p.PackageLicenseConcluded = "NOASSERTION"
	p.PackageLicenseDeclared = "NOASSERTION"
	p.PackageCopyrightText = "NOASSERTION"
	p.FilesAnalyzed, p.IsFilesAnalyzedTagPresent = false, true
}

func sortedPackages(in []Package) []Package {
	out := append([]Package(nil), in...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// osPURL is an OS package's package URL: pkg:deb/debian/NAME@VERSION?arch=A&distro=debian-13,
// or pkg:rpm/rocky/NAME@VERSION-RELEASE?arch=A&epoch=E&distro=rocky-9.6.
func osPURL(os OS, p Package) (string, error) {
	if p.Name == "" || p.Version == "" {
		return "", fmt.Errorf("sbom: package %q: name or version is empty", p.Name)
	}
	if os.ID == "" {
		return "", fmt.Errorf("sbom: the distribution's ID is empty (/etc/os-release)")
	}
	distro := os.ID
	if os.VersionID != "" {
		distro += "-" + os.VersionID
	}
	q := map[string]string{"arch": p.Arch, "distro": distro}
	version := p.Version
	switch p.Format {
	case FormatDeb:
	case FormatRPM:
		if e, vr, ok := strings.Cut(p.Version, ":"); ok {
			q["epoch"], version = e, vr
		}
	default:
		return "", fmt.Errorf("sbom: package %s: format %q: want deb or rpm", p.Name, p.Format)
	}
	return packageurl.NewPackageURL(p.Format, os.ID, p.Name, version, packageurl.QualifiersFromMap(q), "").ToString(), nil
}

// imagePackage is a container image's package: pkg:oci/NAME@DIGEST?repository_url=REPO&tag=TAG.
func imagePackage(img Image) (*v2_3.Package, error) {
	algo, hex, ok := strings.Cut(img.Digest, ":")
	if !ok || algo != "sha256" || !sha256RE.MatchString(hex) {
		return nil, fmt.Errorf("sbom: image %s:%s: digest %q is not sha256:<64 hex digits>", img.Repository, img.Tag, img.Digest)
	}
	name := img.Repository
	if name == "" {
		name = img.Digest
	}
	p := &v2_3.Package{
		PackageName: name, PackageVersion: img.Tag, PrimaryPackagePurpose: "CONTAINER",
		PackageChecksums: []common.Checksum{{Algorithm: common.SHA256, Value: hex}},
	}
	var notes []string
	if img.DigestIsID {
		notes = append(notes, "digest: the image ID (config digest); the runtime knew no registry digest")
	}
	if len(img.OtherTags) > 0 {
		notes = append(notes, "also tagged "+strings.Join(img.OtherTags, ", "))
	}
	p.PackageComment = strings.Join(notes, "; ")
	if img.Repository != "" {
		q := map[string]string{"repository_url": img.Repository}
		if img.Tag != "" {
			q["tag"] = img.Tag
		}
		last := img.Repository[strings.LastIndex(img.Repository, "/")+1:]
		purl := packageurl.NewPackageURL(packageurl.TypeOCI, "", strings.ToLower(last), img.Digest, packageurl.QualifiersFromMap(q), "")
		p.PackageExternalReferences = []*v2_3.PackageExternalReference{purlRef(purl.ToString())}
	}
	return p, nil
}

func purlRef(purl string) *v2_3.PackageExternalReference {
	return &v2_3.PackageExternalReference{Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: purl}
}

// idSet hands out SPDX identifiers: letters, digits, . and - only, each
// unique in the document.
type idSet map[common.ElementID]bool

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

func (s idSet) add(want string) common.ElementID {
	base := strings.Trim(idUnsafe.ReplaceAllString(want, "-"), "-")
	id := common.ElementID(base)
	for n := 2; s[id]; n++ {
		id = common.ElementID(fmt.Sprintf("%s-%d", base, n))
	}
	s[id] = true
	return id
}
