package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompile(t *testing.T) {
	t.Parallel()
	in := "---\ndescription: >\n  A builder.\npage_title: qemu - Builders\n---\n\n# kubebake-qemu\n\nType: `kubebake-qemu`\n\n" +
		"See [the provisioner](/packer/plugins/provisioners/kubebake/kubebake#overrides) and [the plugin](/packer/plugins/kubebake/kubebake).\n"
	out, err := compile(in, "kubebake")
	require.NoError(t, err)
	assert.Equal(t, "Type: `kubebake-qemu`\n\n"+
		"See [the provisioner](/packer/integrations/kubebake/kubebake/latest/components/provisioner/kubebake#overrides) and [the plugin](/packer/integrations/kubebake/kubebake).\n", out)
	_, err = compile("# no front matter\n", "kubebake")
	require.ErrorContains(t, err, "no front matter")
}

func TestRun(t *testing.T) {
	t.Parallel()
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), ".web-docs")
	put := func(p, s string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(src, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(src, p), []byte(s), 0o644))
	}
	put("README.md", "The plugin.\n")
	put("builders/qemu.mdx", "---\npage_title: q\n---\n\n# q\n\nbody\n")
	meta := filepath.Join(t.TempDir(), "metadata.hcl")
	hcl := func(components string) {
		require.NoError(t, os.WriteFile(meta, []byte(`integration {
  name = "kubebake"
  description = "d"
  identifier = "packer/kubebake/kubebake"
`+components+`}
`), 0o644))
	}
	hcl("  component {\n    type = \"builder\"\n    name = \"kubebake-qemu\"\n    slug = \"qemu\"\n  }\n")
	require.NoError(t, run(src, dst, meta))
	b, err := os.ReadFile(filepath.Join(dst, "components", "builder", "qemu", "README.md"))
	require.NoError(t, err)
	assert.Equal(t, "body\n", string(b))
	assert.FileExists(t, filepath.Join(dst, "metadata.hcl"))
	assert.FileExists(t, filepath.Join(dst, "README.md"))

	hcl("  component {\n    type = \"provisioner\"\n    name = \"kubebake\"\n    slug = \"kubebake\"\n  }\n")
	require.ErrorContains(t, run(src, dst, meta), "declares components [provisioner/kubebake], docs document [builder/qemu]")
	hcl("  bad = \n")
	require.Error(t, run(src, dst, meta), "metadata.hcl that does not parse")
}

// TestRepositoryMetadata: the integration's metadata names every component
// the plugin registers, and the identifier the docs' links use.
func TestRepositoryMetadata(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	root := filepath.Join("..", "..")
	for _, p := range []string{"README.md", "builders/qemu.mdx", "provisioners/kubebake.mdx"} {
		b, err := os.ReadFile(filepath.Join(root, "docs", p))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(src, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(src, p), b, 0o644))
	}
	require.NoError(t, run(src, t.TempDir(), filepath.Join(root, "docs", "metadata.hcl")))
}
