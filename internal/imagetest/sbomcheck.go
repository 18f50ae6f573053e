package imagetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/sbom"
	"github.com/kubebake/kubebake/internal/sys"
)

// sbomCheckName names the check that the SBOM beside an image matches the
// image's disk.
const sbomCheckName = "sbom-matches-disk"

// findSBOM finds the SBOM of image: the manifest beside it that names it
// (NAME.manifest.json for a NAME.EXT, else manifest.json) points at it.
// The path is empty, with the reason, when there is none.
func findSBOM(image string) (path, why string, err error) {
	dir, file := filepath.Dir(image), filepath.Base(image)
	stem := strings.TrimSuffix(file, filepath.Ext(file))
	for _, name := range []string{stem + ".manifest.json", "manifest.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		var m manifest.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return "", "", fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
		}
		if m.Image != file {
			continue // the manifest of another image in the directory
		}
		if m.SBOM == "" {
			return "", fmt.Sprintf("%s names no SBOM (schemaVersion %d: baked before kubebake wrote one)", name, m.SchemaVersion), nil
		}
		if filepath.Base(m.SBOM) != m.SBOM {
			return "", "", fmt.Errorf("%s: sbom %q is not a file name beside it", filepath.Join(dir, name), m.SBOM)
		}
		return filepath.Join(dir, m.SBOM), "", nil
	}
	return "", fmt.Sprintf("no manifest beside %s names it (%s.manifest.json or manifest.json)", file, stem), nil
}

// diskInventory is what the disk holds of what an SBOM lists.
type diskInventory struct {
	// packages from the disk's package database.
	packages []sbom.Package
	// sums are the sha256 of the SBOM's binaries' paths on the disk; a
	// path that is not there is missing.
	sums map[string]string
	// images are the images step's record (/etc/kubebake/images.json).
	images []sbom.Image
}

// sbomCheck compares the SBOM beside the image with the disk (read with
// debugfs, no mount): its OS packages with the disk's package database,
// its binaries' sha256 with the files, its images with the images step's
// record, and its root's sha256 with the image's. It skips, passing,
// only when the image has no SBOM.
func sbomCheck(ctx context.Context, fs *rootFS, image, work string, run sys.Runner) (Check, error) {
	c := Check{Name: sbomCheckName, Where: "disk"}
	path, why, err := findSBOM(image)
	if err != nil {
		return c, err
	}
	if path == "" {
		c.Passed, c.Skipped, c.Detail = true, true, "skipped: no SBOM: "+why
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		c.Detail = err.Error()
		return c, nil
	}
	_, root, want, err := sbom.Read(b)
	if err != nil {
		c.Detail = fmt.Sprintf("%s: %v", filepath.Base(path), err)
		return c, nil
	}
	var diffs []string
	if sum, _, err := manifest.FileSHA256(image); err != nil {
		return c, err
	} else if sum != root.SHA256 {
		diffs = append(diffs, fmt.Sprintf("the SBOM describes an image with sha256 %s, this one has %s", short(root.SHA256), short(sum)))
	}
	got, err := readDiskInventory(ctx, fs, want, work, run)
	if err != nil {
		c.Detail = fmt.Sprintf("%s: reading the disk: %v", filepath.Base(path), err)
		return c, nil
	}
	diffs = append(diffs, compareInventory(want, got)...)
	if len(diffs) > 0 {
		c.Detail = fmt.Sprintf("%s differs from the disk in %d places: %s", filepath.Base(path), len(diffs), strings.Join(first(diffs, 5), "; "))
		return c, nil
	}
	c.Passed = true
	c.Detail = fmt.Sprintf("%s matches the disk: %d packages, %d binaries, %d images", filepath.Base(path), len(want.Packages), len(want.Binaries), len(want.Images))
	return c, nil
}

// readDiskInventory reads from the disk what the SBOM lists: the package
// database of the SBOM's package format (dpkg when it lists none), the
// binaries at its paths, the images record.
func readDiskInventory(ctx context.Context, fs *rootFS, want sbom.Inventory, work string, run sys.Runner) (diskInventory, error) {
	var d diskInventory
	format := sbom.FormatDeb
	if len(want.Packages) > 0 {
		format = want.Packages[0].Format
	}
	var err error
	switch format {
	case sbom.FormatDeb:
		d.packages, err = diskDpkg(ctx, fs)
	case sbom.FormatRPM:
		d.packages, err = diskRPM(ctx, fs, work, run)
	default:
		err = fmt.Errorf("package format %q is none kubebake reads", format)
	}
	if err != nil {
		return d, err
	}
	d.sums = map[string]string{}
	for _, b := range want.Binaries {
		tmp := filepath.Join(work, "sbom-binary")
		ok, err := fs.dump(ctx, b.Path, tmp)
		if err != nil {
			return d, err
		}
		if !ok {
			continue
		}
		sum, _, err := manifest.FileSHA256(tmp)
		_ = os.Remove(tmp)
		if err != nil {
			return d, err
		}
		d.sums[b.Path] = sum
	}
	rec, ok, err := fs.cat(ctx, api.RuntimeImagesPath)
	if err != nil {
		return d, err
	}
	if ok {
		ri, err := manifest.ParseCrictlImages(rec)
		if err != nil {
			return d, fmt.Errorf("%s: %w", api.RuntimeImagesPath, err)
		}
		d.images = sbom.ImagesFromRuntime(ri)
	}
	return d, nil
}

// diskDpkg reads dpkg's database from the disk.
func diskDpkg(ctx context.Context, fs *rootFS) ([]sbom.Package, error) {
	const status = "/var/lib/dpkg/status"
	b, ok, err := fs.cat(ctx, status)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("the disk has no %s", status)
	}
	pkgs, err := sbom.ParseDpkgStatus(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", status, err)
	}
	return pkgs, nil
}

// rpmDBDirs are where rpm keeps its database: Fedora's, then EL's.
var rpmDBDirs = []string{"/usr/lib/sysimage/rpm", "/var/lib/rpm"}

// diskRPM copies the disk's rpm database (sqlite, with its journal files)
// out and queries the copy with this machine's rpm (--dbpath).
func diskRPM(ctx context.Context, fs *rootFS, work string, run sys.Runner) ([]sbom.Package, error) {
	db := filepath.Join(work, "rpmdb")
	if err := os.MkdirAll(db, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(db)
	found := ""
	for _, dir := range rpmDBDirs {
		ok, err := fs.dump(ctx, dir+"/rpmdb.sqlite", filepath.Join(db, "rpmdb.sqlite"))
		if err != nil {
			return nil, err
		}
		if ok {
			found = dir
			break
		}
	}
	if found == "" {
		return nil, fmt.Errorf("the disk has no rpm database (rpmdb.sqlite in %s)", strings.Join(rpmDBDirs, " or "))
	}
	for _, side := range []string{"-wal", "-shm"} {
		if _, err := fs.dump(ctx, found+"/rpmdb.sqlite"+side, filepath.Join(db, "rpmdb.sqlite"+side)); err != nil {
			return nil, err
		}
	}
	c := sys.Command("rpm", "--dbpath", db, "-qa", "--qf", sbom.RPMQueryFormat)
	c.StdoutOnly = true
	out, err := run.Run(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("reading the image's rpm database needs rpm on this machine: %w", err)
	}
	return sbom.ParseRPMQuery(out)
}

// compareInventory lists where the disk differs from what the SBOM says,
// in a stable order: packages (by name and architecture), binaries,
// images.
func compareInventory(want sbom.Inventory, got diskInventory) []string {
	var diffs []string
	disk := map[string]string{}
	for _, p := range got.packages {
		disk[p.Key()] = p.Version
	}
	listed := map[string]bool{}
	for _, p := range want.Packages {
		listed[p.Key()] = true
		v, ok := disk[p.Key()]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("package %s %s is in the SBOM, not on the disk", p.Key(), p.Version))
		case v != p.Version:
			diffs = append(diffs, fmt.Sprintf("package %s: SBOM %s, disk %s", p.Key(), p.Version, v))
		}
	}
	var extra []string
	for _, p := range got.packages {
		if !listed[p.Key()] {
			extra = append(extra, fmt.Sprintf("package %s %s is on the disk, not in the SBOM", p.Key(), p.Version))
		}
	}
	sort.Strings(extra)
	diffs = append(diffs, extra...)
	for _, b := range want.Binaries {
		sum, ok := got.sums[b.Path]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("binary %s (%s) is not on the disk", b.Path, b.Name))
		case sum != b.SHA256:
			diffs = append(diffs, fmt.Sprintf("binary %s: SBOM sha256 %s, disk %s", b.Path, short(b.SHA256), short(sum)))
		}
	}
	recorded := map[string]bool{}
	for _, img := range got.images {
		recorded[img.Digest] = true
	}
	inSBOM := map[string]bool{}
	for _, img := range want.Images {
		inSBOM[img.Digest] = true
		if !recorded[img.Digest] {
			diffs = append(diffs, fmt.Sprintf("image %s:%s (%s) is in the SBOM, not in %s", img.Repository, img.Tag, short(img.Digest), api.RuntimeImagesPath))
		}
	}
	for _, img := range got.images {
		if !inSBOM[img.Digest] {
			diffs = append(diffs, fmt.Sprintf("image %s:%s (%s) is in %s, not in the SBOM", img.Repository, img.Tag, short(img.Digest), api.RuntimeImagesPath))
		}
	}
	return diffs
}

// short shortens a digest for a message.
func short(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}
