package render

import (
	"bytes"
	"embed"
	"fmt"
	"path"
	"strings"
	"text/template"

	"github.com/kubebake/kubebake/internal/shell"
)

//go:embed templates
var templateFS embed.FS

// templates holds the parsed step and file templates.
type templates struct {
	steps *template.Template
	files *template.Template
}

func funcs() template.FuncMap {
	return template.FuncMap{
		"q":      shell.Quote,
		"qwords": shell.Join,
		"toml":   tomlString,
		"dir":    path.Dir,
		"join":   strings.Join,
	}
}

// parseTemplates parses the embedded templates.
func parseTemplates() (*templates, error) {
	steps, err := parseSet("steps")
	if err != nil {
		return nil, err
	}
	files, err := parseSet("files")
	if err != nil {
		return nil, err
	}
	return &templates{steps: steps, files: files}, nil
}

// parseSet parses templates/DIR/*.tmpl into one set. Its templates can
// include a block of the set by a computed name ({{include (print
// .Runtime.Kind ".pin") .}}), which is how a runtime's own blocks are
// chosen without a branch per runtime.
func parseSet(dir string) (*template.Template, error) {
	t := template.New(dir)
	fm := funcs()
	fm["include"] = func(name string, data any) (string, error) {
		var b bytes.Buffer
		if err := t.ExecuteTemplate(&b, name, data); err != nil {
			return "", err
		}
		return b.String(), nil
	}
	if _, err := t.Funcs(fm).Option("missingkey=error").ParseFS(templateFS, "templates/"+dir+"/*.tmpl"); err != nil {
		return nil, fmt.Errorf("parse %s templates: %w", dir, err)
	}
	return t, nil
}

func execute(t *template.Template, name string, v any) ([]byte, error) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, v); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// tomlString renders s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u` + fmt.Sprintf("%04x", r))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
