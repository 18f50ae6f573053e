// Package userdata turns a NodeConfig into the user data that boots a
// kubebake image into that node: a #cloud-config, a MIME multipart document,
// a Butane config or Ignition for Fedora CoreOS.
package userdata

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"

	butane "github.com/coreos/butane/config"
	"github.com/coreos/butane/config/common"
	ignition "github.com/coreos/ignition/v2/config/v3_5"
	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/firstboot/source"
	"github.com/kubebake/kubebake/recipes"
)

// Formats lists the supported output formats.
func Formats() []string { return []string{"cloud-config", "mime", "butane", "ignition"} }

// Check decodes and validates a NodeConfig as the node would (see
// CheckReport); the error lists every problem at its position.
func Check(source string, doc []byte, imageVersion string) error {
	rep := CheckReport(source, doc, imageVersion)
	if rep.IsFatal() {
		return &recipes.InvalidError{Report: rep}
	}
	return nil
}

// Generate wraps the NodeConfig document doc in the given format. The
// document is carried byte for byte; the file it becomes on the node is
// /etc/kubebake/node.yaml, mode 0600 (it may hold a bootstrap token).
func Generate(doc []byte, format string) ([]byte, error) {
	switch format {
	case "cloud-config":
		return cloudConfig(doc)
	case "mime":
		return mimeDoc(doc)
	case "butane":
		return butaneDoc(doc)
	case "ignition":
		bu, err := butaneDoc(doc)
		if err != nil {
			return nil, err
		}
		ign, rep, err := butane.TranslateBytes(bu, common.TranslateBytesOptions{Pretty: true})
		if err != nil {
			return nil, fmt.Errorf("translate to Ignition: %w: %s", err, rep.String())
		}
		if _, irep, err := ignition.Parse(ign); err != nil || irep.IsFatal() {
			return nil, fmt.Errorf("ignition rejects the config: %v %s", err, irep.String())
		}
		return append(ign, '\n'), nil
	}
	return nil, fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats(), ", "))
}

type writeFile struct {
	Path        string `json:"path"`
	Owner       string `json:"owner"`
	Permissions string `json:"permissions"`
	Encoding    string `json:"encoding"`
	Content     string `json:"content"`
}

func cloudConfig(doc []byte) ([]byte, error) {
	body, err := yaml.Marshal(struct {
		WriteFiles []writeFile `json:"write_files"`
	}{[]writeFile{{
		Path: source.NodeConfigPath, Owner: "root:root", Permissions: "0600",
		Encoding: "b64", Content: base64.StdEncoding.EncodeToString(doc),
	}}})
	if err != nil {
		return nil, err
	}
	return append([]byte("#cloud-config\n# kubebake NodeConfig for kubebake-firstboot.\n"), body...), nil
}

func mimeDoc(doc []byte) ([]byte, error) { return MIME(doc) }

// Part is one part of a MIME user-data document, e.g. a
// text/x-shellscript that cloud-init runs.
type Part struct {
	ContentType string
	Filename    string
	Content     []byte
	// Base64 sends the content base64-encoded (Content-Transfer-Encoding).
	Base64 bool
}

// MIME returns a multipart/mixed user-data document: the NodeConfig doc
// (base64, of type source.MediaType) followed by extra parts.
func MIME(doc []byte, extra ...Part) ([]byte, error) {
	node := Part{ContentType: source.MediaType + `; charset="utf-8"`, Filename: "kubebake-node.yaml", Content: doc, Base64: true}
	return Multipart(append([]Part{node}, extra...)...)
}

// Multipart returns a multipart/mixed user-data document of the parts, in
// order, as cloud-init reads it.
func Multipart(parts ...Part) ([]byte, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, x := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", x.ContentType)
		h.Set("Content-Disposition", `attachment; filename="`+x.Filename+`"`)
		if x.Base64 {
			h.Set("Content-Transfer-Encoding", "base64")
		}
		p, err := w.CreatePart(h)
		if err != nil {
			return nil, err
		}
		if !x.Base64 {
			if _, err := p.Write(x.Content); err != nil {
				return nil, err
			}
			continue
		}
		enc := base64.StdEncoding.EncodeToString(x.Content)
		for len(enc) > 76 {
			if _, err := fmt.Fprintln(p, enc[:76]); err != nil {
				return nil, err
			}
			enc = enc[76:]
		}
		if _, err := fmt.Fprintln(p, enc); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "Content-Type: multipart/mixed; boundary=\"%s\"\nMIME-Version: 1.0\n\n", w.Boundary())
	out.Write(body.Bytes())
	return out.Bytes(), nil
}

type butaneFile struct {
	Path      string `json:"path"`
	Mode      int    `json:"mode"`
	Overwrite bool   `json:"overwrite"`
	Contents  struct {
		Inline string `json:"inline"`
	} `json:"contents"`
}

func butaneDoc(doc []byte) ([]byte, error) {
	f := butaneFile{Path: source.NodeConfigPath, Mode: 0o600, Overwrite: true}
	f.Contents.Inline = string(doc)
	body, err := yaml.Marshal(struct {
		Storage struct {
			Files []butaneFile `json:"files"`
		} `json:"storage"`
	}{Storage: struct {
		Files []butaneFile `json:"files"`
	}{Files: []butaneFile{f}}})
	if err != nil {
		return nil, err
	}
	return append([]byte("# kubebake NodeConfig for kubebake-firstboot on Fedora CoreOS.\nvariant: fcos\nversion: 1.6.0\n"), body...), nil
}
