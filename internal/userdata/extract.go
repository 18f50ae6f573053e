package userdata

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	butane "github.com/coreos/butane/config"
	"github.com/coreos/butane/config/common"
	ignition "github.com/coreos/ignition/v2/config/v3_5"
	"github.com/vincent-petithory/dataurl"
	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
	"github.com/kubebake/kubebake/firstboot/source"
	"github.com/kubebake/kubebake/recipes"
)

// Found is a NodeConfig found in user data.
type Found struct {
	// Doc is the NodeConfig document.
	Doc []byte
	// Where says which part of the user data carried it, for messages.
	Where string
	// Line and Column are where Doc's first byte stands in the user data
	// (1-based), when Doc appears there line by line (a raw NodeConfig, a
	// literal block of a #cloud-config, a plain MIME part); 0 when it is
	// encoded (base64, gzip, a data URL).
	Line, Column int
}

// Extract finds the NodeConfig in user data the way the node does:
// kubebake-firstboot's own reader for a raw NodeConfig, a #cloud-config
// and MIME multipart (gzipped or not), and, for Fedora CoreOS, the file
// /etc/kubebake/node.yaml of an Ignition config or a Butane config. ok is
// false when the user data carries none; what declares one but is broken
// is an error.
func Extract(data []byte) (f Found, ok bool, err error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case isIgnition(trimmed):
		return fromIgnition(trimmed, "the Ignition config's storage.files "+source.NodeConfigPath)
	case isButane(trimmed):
		ign, rep, err := butane.TranslateBytes(trimmed, common.TranslateBytesOptions{})
		if err != nil {
			return Found{}, false, fmt.Errorf("translate the Butane config: %w: %s", err, rep.String())
		}
		return fromIgnition(ign, "the Butane config's storage.files "+source.NodeConfigPath)
	}
	doc, ok, err := source.FromUserData(data)
	if err != nil || !ok {
		return Found{}, ok, err
	}
	f = Found{Doc: doc, Where: where(trimmed)}
	f.Line, f.Column = locate(data, doc)
	return f, true, nil
}

// where names the part of user data that carried a NodeConfig.
func where(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("#cloud-config")):
		return "write_files " + source.NodeConfigPath
	case bytes.Contains(data, []byte(source.MediaType)):
		return "the MIME part of type " + source.MediaType
	case nodeconfig.Declares(data) || nodeconfig.LooksLike(data):
		return "the whole file"
	}
	return "the user data (encoded)"
}

// IsWrapped reports whether data is user data in a wrapper rather than a
// bare document: gzipped, a #cloud-config, a MIME multipart document, a
// script, an Ignition or a Butane config.
func IsWrapped(data []byte) bool {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	for _, p := range []string{"\x1f\x8b", "#cloud-config", "#!", "Content-Type:", "MIME-Version:"} {
		if bytes.HasPrefix(trimmed, []byte(p)) {
			return true
		}
	}
	return isIgnition(trimmed) || isButane(trimmed)
}

// isIgnition reports whether data is an Ignition config: a JSON object
// with an ignition key.
func isIgnition(data []byte) bool {
	if !bytes.HasPrefix(data, []byte("{")) {
		return false
	}
	var head struct {
		Ignition *json.RawMessage `json:"ignition"`
	}
	return json.Unmarshal(data, &head) == nil && head.Ignition != nil
}

// isButane reports whether data is a Butane config: YAML with variant and
// version at its top.
func isButane(data []byte) bool {
	var head struct {
		Variant string `json:"variant"`
		Version string `json:"version"`
	}
	return yaml.Unmarshal(data, &head) == nil && head.Variant != "" && head.Version != ""
}

// fromIgnition reads /etc/kubebake/node.yaml from an Ignition config, as
// Ignition would write it: the data URL decoded, gunzipped when the file
// says so.
func fromIgnition(data []byte, where string) (Found, bool, error) {
	cfg, rep, err := ignition.Parse(data)
	if err != nil || rep.IsFatal() {
		return Found{}, false, fmt.Errorf("ignition rejects the config: %v %s", err, rep.String())
	}
	for _, file := range cfg.Storage.Files {
		if file.Path != source.NodeConfigPath {
			continue
		}
		if file.Contents.Source == nil {
			return Found{}, false, fmt.Errorf("%s has no contents.source", where)
		}
		u, err := dataurl.DecodeString(*file.Contents.Source)
		if err != nil {
			return Found{}, false, fmt.Errorf("%s: contents.source is not a data URL: %w", where, err)
		}
		doc := u.Data
		if c := file.Contents.Compression; c != nil && *c == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(doc))
			if err != nil {
				return Found{}, false, fmt.Errorf("%s: gunzip: %w", where, err)
			}
			if doc, err = io.ReadAll(io.LimitReader(zr, nodeconfig.MaxSize+1)); err != nil {
				return Found{}, false, fmt.Errorf("%s: gunzip: %w", where, err)
			}
		}
		return Found{Doc: doc, Where: where}, true, nil
	}
	return Found{}, false, nil
}

// locate finds where doc stands in data, line by line under one
// indentation (a literal block of YAML is indented; a raw document or a
// plain MIME part is not). Blank lines match whatever their indentation.
// It returns 0, 0 when doc does not appear so.
func locate(data, doc []byte) (line, col int) {
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	want := strings.Split(strings.TrimRight(string(doc), "\n"), "\n")
	if len(want) == 0 || want[0] == "" {
		return 0, 0
	}
	for i, l := range lines {
		indent, ok := strings.CutSuffix(l, want[0])
		if !ok || strings.TrimLeft(indent, " ") != "" || i+len(want) > len(lines) {
			continue
		}
		if matchesAt(lines[i:], want, indent) {
			return i + 1, len(indent) + 1
		}
	}
	return 0, 0
}

func matchesAt(lines, want []string, indent string) bool {
	for j, w := range want {
		if w == "" {
			if strings.TrimSpace(lines[j]) != "" {
				return false
			}
			continue
		}
		if lines[j] != indent+w {
			return false
		}
	}
	return true
}

// ErrNoNodeConfig is returned by CheckUserData for user data that carries
// no NodeConfig.
var ErrNoNodeConfig = errors.New("no NodeConfig in the user data (kubebake-firstboot looks for a raw NodeConfig, a #cloud-config that writes " +
	source.NodeConfigPath + ", a MIME part of type " + source.MediaType + ", or " + source.NodeConfigPath + " in an Ignition or Butane config)")

// CheckUserData finds the NodeConfig in user data (Extract) and checks it
// as the node would (CheckReport). Problems stand at their FILE:LINE:COL in
// the user data when the NodeConfig appears there line by line, else at
// their line in the NodeConfig, the file named with the part that carried
// it.
func CheckUserData(file string, data []byte, imageVersion string) (recipes.Report, Found, error) {
	f, ok, err := Extract(data)
	if err != nil {
		return recipes.Report{}, f, fmt.Errorf("%s: %w", file, err)
	}
	if !ok {
		return recipes.Report{}, f, fmt.Errorf("%s: %w", file, ErrNoNodeConfig)
	}
	label := file
	if f.Line == 0 {
		label = fmt.Sprintf("%s (the NodeConfig in %s)", file, f.Where)
	}
	rep := CheckReport(label, f.Doc, imageVersion)
	if f.Line > 0 {
		for i := range rep.Entries {
			p := &rep.Entries[i].Pos
			if p.Line > 0 {
				p.Line += f.Line - 1
				if p.Column > 0 {
					p.Column += f.Column - 1
				}
			}
		}
	}
	return rep, f, nil
}
