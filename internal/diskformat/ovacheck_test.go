package diskformat_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/vmware/govmomi/ovf"
)

// ovaContents is what checkOVA found in a valid OVA.
type ovaContents struct {
	// Members are the archive's file names in order.
	Members []string
	// Env is the descriptor, parsed by govmomi's OVF parser.
	Env *ovf.Envelope
	// Descriptor is the descriptor's text.
	Descriptor []byte
}

// mfLine is one line of a VMware manifest.
var mfLine = regexp.MustCompile(`^SHA256\(([^()]+)\)= ([0-9a-f]{64})$`)

// checkOVA checks an OVA as DSP0243 and VMware lay it out and extracts its
// members into dir: a USTAR archive of regular files; the descriptor (.ovf)
// first, parsed by govmomi; then the files its References name, in that
// order and with their declared sizes; the manifest (.mf) last, a
// "SHA256(NAME)= HEX" line for each other member and nothing else, each
// digest matching the member.
func checkOVA(path, dir string) (*ovaContents, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var c ovaContents
	sums := map[string]string{}
	sizes := map[string]int64{}
	var manifest []byte
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%s: not a regular file (type %q)", hdr.Name, hdr.Typeflag)
		}
		if hdr.Format&tar.FormatUSTAR == 0 || hdr.Format&tar.FormatGNU != 0 || len(hdr.PAXRecords) > 0 {
			return nil, fmt.Errorf("%s: header is %v, not USTAR", hdr.Name, hdr.Format)
		}
		if strings.Contains(hdr.Name, "/") {
			return nil, fmt.Errorf("%s: not at the top of the archive", hdr.Name)
		}
		if len(c.Members) == 0 && filepath.Ext(hdr.Name) != ".ovf" {
			return nil, fmt.Errorf("first member %s: want the .ovf descriptor", hdr.Name)
		}
		if manifest != nil {
			return nil, fmt.Errorf("%s follows the manifest, which must be last", hdr.Name)
		}
		c.Members = append(c.Members, hdr.Name)
		h := sha256.New()
		var body bytes.Buffer
		w := io.Writer(h)
		if filepath.Ext(hdr.Name) == ".ovf" || filepath.Ext(hdr.Name) == ".mf" {
			w = io.MultiWriter(h, &body)
		}
		out, err := os.Create(filepath.Join(dir, filepath.Base(hdr.Name)))
		if err != nil {
			return nil, err
		}
		n, err := io.Copy(io.MultiWriter(w, out), tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", hdr.Name, err)
		}
		sums[hdr.Name], sizes[hdr.Name] = hex.EncodeToString(h.Sum(nil)), n
		switch {
		case len(c.Members) == 1:
			c.Descriptor = body.Bytes()
			if c.Env, err = ovf.Unmarshal(bytes.NewReader(c.Descriptor)); err != nil {
				return nil, fmt.Errorf("%s: %w", hdr.Name, err)
			}
		case filepath.Ext(hdr.Name) == ".mf":
			manifest = body.Bytes()
		}
	}
	if c.Env == nil {
		return nil, fmt.Errorf("no descriptor")
	}
	if manifest == nil {
		return nil, fmt.Errorf("no manifest at the end")
	}
	files := c.Members[1 : len(c.Members)-1]
	if len(files) != len(c.Env.References) {
		return nil, fmt.Errorf("members %v between descriptor and manifest, References name %d files", files, len(c.Env.References))
	}
	for i, ref := range c.Env.References {
		if files[i] != ref.Href {
			return nil, fmt.Errorf("member %d is %s, References has %s there", i+2, files[i], ref.Href)
		}
		if int64(ref.Size) != sizes[ref.Href] {
			return nil, fmt.Errorf("%s: %d bytes, References say %d", ref.Href, sizes[ref.Href], ref.Size)
		}
	}
	listed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(manifest))
	for sc.Scan() {
		m := mfLine.FindStringSubmatch(sc.Text())
		if m == nil {
			return nil, fmt.Errorf("manifest line %q is not SHA256(FILE)= HEX", sc.Text())
		}
		name, sum := m[1], m[2]
		want, ok := sums[name]
		switch {
		case !ok || strings.HasSuffix(name, ".mf"):
			return nil, fmt.Errorf("manifest lists %s, which is not a member it can describe", name)
		case listed[name]:
			return nil, fmt.Errorf("manifest lists %s twice", name)
		case sum != want:
			return nil, fmt.Errorf("manifest digest of %s is %s, the member's is %s", name, sum, want)
		}
		listed[name] = true
	}
	for _, name := range c.Members[:len(c.Members)-1] {
		if !listed[name] {
			return nil, fmt.Errorf("manifest does not list %s", name)
		}
	}
	return &c, nil
}
