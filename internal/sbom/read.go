package sbom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/package-url/packageurl-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdxlib"
)

// Root is the package an SBOM describes: the image.
type Root struct {
	Name, File, SHA256, Version string
}

// Read parses an SBOM that Build wrote, with the SPDX library's own JSON
// reader, and returns the image it describes and what the image holds.
// It fails on a document that is not SPDX 2.3, whose relationships name
// elements it does not have, or that does not describe exactly one
// package.
func Read(b []byte) (*spdx.Document, Root, Inventory, error) {
	var root Root
	var inv Inventory
	doc, err := spdxjson.Read(bytes.NewReader(b))
	if err != nil {
		return nil, root, inv, fmt.Errorf("SPDX JSON: %w", err)
	}
	// The reader converts older documents to 2.3: look at what this one says.
	var head struct {
		SPDXVersion string `json:"spdxVersion"`
	}
	if err := json.Unmarshal(b, &head); err != nil || head.SPDXVersion != spdx.Version {
		return nil, root, inv, fmt.Errorf("spdxVersion %q: want %s", head.SPDXVersion, spdx.Version)
	}
	if err := spdxlib.ValidateDocument(doc); err != nil {
		return nil, root, inv, err
	}
	described, err := spdxlib.GetDescribedPackageIDs(doc)
	if err != nil {
		return nil, root, inv, err
	}
	if len(described) != 1 {
		return nil, root, inv, fmt.Errorf("the document describes %d packages: want the image alone", len(described))
	}
	byID := map[common.ElementID]*spdx.Package{}
	for _, p := range doc.Packages {
		byID[p.PackageSPDXIdentifier] = p
	}
	rp := byID[described[0]]
	root = Root{Name: rp.PackageName, File: rp.PackageFileName, SHA256: checksum(rp), Version: rp.PackageVersion}
	for _, r := range doc.Relationships {
		if r.Relationship != common.TypeRelationshipContains || r.RefA.ElementRefID != described[0] {
			continue
		}
		p := byID[r.RefB.ElementRefID]
		if err := inv.add(p); err != nil {
			return nil, root, inv, fmt.Errorf("package %s (%s): %w", p.PackageName, p.PackageSPDXIdentifier, err)
		}
	}
	return doc, root, inv, nil
}

// add classifies a package the image contains by its purl and purpose.
func (inv *Inventory) add(p *spdx.Package) error {
	if p.PrimaryPackagePurpose == "FILE" {
		inv.Binaries = append(inv.Binaries, Binary{Name: p.PackageName, Path: p.PackageFileName, SHA256: checksum(p), Version: p.PackageVersion})
		return nil
	}
	var purl *packageurl.PackageURL
	for _, ref := range p.PackageExternalReferences {
		if ref.RefType == common.TypePackageManagerPURL {
			u, err := packageurl.FromString(ref.Locator)
			if err != nil {
				return err
			}
			purl = &u
			break
		}
	}
	if p.PrimaryPackagePurpose == "CONTAINER" {
		img := Image{Repository: p.PackageName, Tag: p.PackageVersion, Digest: "sha256:" + checksum(p)}
		if purl == nil {
			img.Repository = "" // an image the runtime knew no name of
		}
		img.DigestIsID = strings.Contains(p.PackageComment, "image ID")
		if _, rest, ok := strings.Cut(p.PackageComment, "also tagged "); ok {
			img.OtherTags = strings.Split(rest, ", ")
		}
		inv.Images = append(inv.Images, img)
		return nil
	}
	if purl == nil {
		return fmt.Errorf("no purl")
	}
	switch purl.Type {
	case FormatDeb, FormatRPM:
		q := purl.Qualifiers.Map()
		inv.Packages = append(inv.Packages, Package{Format: purl.Type, Name: p.PackageName, Version: p.PackageVersion, Arch: q["arch"]})
		if inv.OS.ID == "" {
			inv.OS.ID = purl.Namespace
			inv.OS.VersionID = strings.TrimPrefix(q["distro"], purl.Namespace+"-")
			if inv.OS.VersionID == q["distro"] {
				inv.OS.VersionID = ""
			}
		}
		return nil
	}
	return fmt.Errorf("purl type %q is none kubebake writes", purl.Type)
}

func checksum(p *spdx.Package) string {
	for _, c := range p.PackageChecksums {
		if c.Algorithm == common.SHA256 {
			return c.Value
		}
	}
	return ""
}
