package bake

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
)

// NameData is what an image name template can use.
type NameData struct {
	Recipe, Distro, Release, Arch, KubernetesVersion, Runtime string
	// Date and Time are the build's end in UTC: 20261202 and 150405.
	Date, Time string
	// ShortDigest is the first 12 hex digits of the image's sha256.
	ShortDigest string
}

// parseName parses an image name template ({{.Recipe}}-{{.KubernetesVersion}}-{{.Date}}),
// and tries it, so that a bad one fails before anything is built.
func parseName(tmpl string) (*template.Template, error) {
	t, err := template.New("name").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return nil, fmt.Errorf("--name: %w", err)
	}
	if _, err := execName(t, NameData{Recipe: "r", Distro: "d", Release: "1", Arch: "amd64", KubernetesVersion: "v1.36.3",
		Runtime: "containerd", Date: "20260101", Time: "000000", ShortDigest: "0123456789ab"}); err != nil {
		return nil, err
	}
	return t, nil
}

// execName renders a name and checks it is a file name.
func execName(t *template.Template, d NameData) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("--name: %w", err)
	}
	name := b.String()
	if name == "" || name == "." || name == ".." || strings.HasPrefix(name, ".") || strings.ContainsAny(name, "/\x00\n") {
		return "", fmt.Errorf("--name: %q is not a file name", name)
	}
	return name, nil
}
