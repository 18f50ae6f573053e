// Command webdocs compiles the docs packer-sdc renderdocs wrote into the
// Packer integrations layout (hack/generate.sh): .web-docs/README.md,
// .web-docs/components/TYPE/SLUG/README.md for each docs/TYPEs/SLUG.mdx
// (front matter and top heading removed, plugin links rewritten to
// integration links) and .web-docs/metadata.hcl. It fails when the
// metadata's components and the documented ones differ.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsimple"
)

// metadata is the part of metadata.hcl the layout depends on.
type metadata struct {
	Integration struct {
		Name       string      `hcl:"name"`
		Identifier string      `hcl:"identifier"`
		Components []component `hcl:"component,block"`
		Rest       any         `hcl:",remain"`
	} `hcl:"integration,block"`
}

type component struct {
	Type string `hcl:"type"`
	Name string `hcl:"name"`
	Slug string `hcl:"slug"`
}

// componentTypes maps docs folders to the integration's component types.
var componentTypes = map[string]string{
	"builders": "builder", "provisioners": "provisioner", "post-processors": "post-processor", "datasources": "data-source",
}

func main() {
	src := flag.String("src", "", "docs rendered by packer-sdc renderdocs")
	dst := flag.String("dst", ".web-docs", "the integration's docs directory")
	meta := flag.String("metadata", "docs/metadata.hcl", "the integration's metadata.hcl")
	flag.Parse()
	if err := run(*src, *dst, *meta); err != nil {
		fmt.Fprintln(os.Stderr, "webdocs:", err)
		os.Exit(1)
	}
}

func run(src, dst, metaPath string) error {
	b, err := os.ReadFile(metaPath)
	if err != nil {
		return err
	}
	var m metadata
	if err := hclsimple.Decode(filepath.Base(metaPath), b, nil, &m); err != nil {
		return err
	}
	org, _, ok := strings.Cut(strings.TrimPrefix(m.Integration.Identifier, "packer/"), "/")
	if !ok {
		return fmt.Errorf("%s: identifier %q: want packer/ORG/NAME", metaPath, m.Integration.Identifier)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dst, "metadata.hcl"), b, 0o644); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(src, "README.md"), filepath.Join(dst, "README.md")); err != nil {
		return err
	}
	var documented []string
	files, err := filepath.Glob(filepath.Join(src, "*", "*.mdx"))
	if err != nil {
		return err
	}
	for _, f := range files {
		typ, ok := componentTypes[filepath.Base(filepath.Dir(f))]
		if !ok || filepath.Base(f) == "index.mdx" {
			continue
		}
		slug := strings.TrimSuffix(filepath.Base(f), ".mdx")
		in, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		out, err := compile(string(in), org)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		dir := filepath.Join(dst, "components", typ, slug)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(out), 0o644); err != nil {
			return err
		}
		documented = append(documented, typ+"/"+slug)
	}
	var declared []string
	for _, c := range m.Integration.Components {
		declared = append(declared, c.Type+"/"+c.Slug)
	}
	slices.Sort(documented)
	slices.Sort(declared)
	if !slices.Equal(documented, declared) {
		return fmt.Errorf("%s declares components %v, docs document %v", metaPath, declared, documented)
	}
	return nil
}

var (
	frontMatterRE = regexp.MustCompile(`(?s)\A---\n.*?\n---\n\n?`)
	topHeadingRE  = regexp.MustCompile(`\A# [^\n]*\n\n?`)
	indexLinkRE   = regexp.MustCompile(`\(/packer/plugins/([^/)]+)/([^/)#]+)(#[^/)]+)?\)`)
	compLinkRE    = regexp.MustCompile(`\(/packer/plugins/([^/)]+)/([^/)]+)/([^/)#]+)(#[^/)]+)?\)`)
)

// compile turns one component's .mdx into its integration README: no
// front matter, no top heading (the site adds it), integration links.
func compile(in, org string) (string, error) {
	out := frontMatterRE.ReplaceAllString(in, "")
	if out == in {
		return "", fmt.Errorf("no front matter")
	}
	out = topHeadingRE.ReplaceAllString(out, "")
	out = compLinkRE.ReplaceAllStringFunc(out, func(s string) string {
		g := compLinkRE.FindStringSubmatch(s)
		typ := componentTypes[g[1]]
		if typ == "" {
			typ = g[1]
		}
		return "(/packer/integrations/" + org + "/" + g[2] + "/latest/components/" + typ + "/" + g[3] + g[4] + ")"
	})
	out = indexLinkRE.ReplaceAllString(out, "(/packer/integrations/"+org+"/$2$3)")
	return out, nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}
