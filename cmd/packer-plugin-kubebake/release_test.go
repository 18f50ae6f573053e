package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// goreleaserConfig is the part of .goreleaser.yml this test reads.
type goreleaserConfig struct {
	Builds []goreleaserBuild `json:"builds"`
	Signs  []struct {
		Artifacts string   `json:"artifacts"`
		Args      []string `json:"args"`
	} `json:"signs"`
}

// goreleaserBuild is one of its builds.
type goreleaserBuild struct {
	ID     string   `json:"id"`
	Main   string   `json:"main"`
	Tags   []string `json:"tags"`
	Env    []string `json:"env"`
	GOOS   []string `json:"goos"`
	GOARCH []string `json:"goarch"`
}

func readGoreleaser(t *testing.T) goreleaserConfig {
	t.Helper()
	b, err := os.ReadFile("../../.goreleaser.yml")
	require.NoError(t, err)
	var c goreleaserConfig
	require.NoError(t, yaml.Unmarshal(b, &c))
	return c
}

// TestReleasePlatformsBuild: every platform goreleaser releases the
// plugin for compiles as goreleaser compiles it (CGO off, its tags), so a
// release cannot fail at a platform the code never built for. The plugin
// is released for every platform Packer runs on: the provisioner serves
// Packer on Windows and FreeBSD too.
func TestReleasePlatformsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the plugin for every release platform")
	}
	c := readGoreleaser(t)
	i := slices.IndexFunc(c.Builds, func(b goreleaserBuild) bool { return b.ID == "plugin" })
	require.GreaterOrEqual(t, i, 0, "a build with id plugin")
	b := c.Builds[i]
	for _, goos := range []string{"linux", "darwin", "windows", "freebsd"} {
		assert.Contains(t, b.GOOS, goos, "the plugin is released for %s", goos)
	}
	assert.Contains(t, b.Env, "CGO_ENABLED=0")
	// The embedded firstboot binaries come from make firstboot-embed (as
	// goreleaser's before hook runs it): without them, build without the
	// kubebake_embed tag.
	tags := b.Tags
	if _, err := os.Stat("../../internal/firstbootbin/bin/kubebake-firstboot-linux-amd64"); err != nil {
		tags = slices.DeleteFunc(slices.Clone(tags), func(s string) bool { return s == "kubebake_embed" })
	}
	// Build constraints here are by operating system only: one
	// architecture per system proves each (amd64, every release has it).
	require.Contains(t, b.GOARCH, "amd64")
	for _, goos := range b.GOOS {
		for _, goarch := range []string{"amd64"} {
			t.Run(goos+"/"+goarch, func(t *testing.T) {
				cmd := exec.Command("go", "build", "-trimpath", "-tags", strings.Join(tags, ","), "-o", filepath.Join(t.TempDir(), "plugin"), "../../"+strings.TrimPrefix(b.Main, "./"))
				cmd.Env = append(append(os.Environ(), b.Env...), "GOOS="+goos, "GOARCH="+goarch)
				out, err := cmd.CombinedOutput()
				require.NoError(t, err, "GOOS=%s GOARCH=%s go build: %s", goos, goarch, out)
			})
		}
	}
}

// TestReleaseSignsChecksums: the release signs its checksum file with the
// key GPG_FINGERPRINT names (make release-snapshot skips the step when it
// is empty and verifies the signature when it is not).
func TestReleaseSignsChecksums(t *testing.T) {
	c := readGoreleaser(t)
	require.Len(t, c.Signs, 1)
	assert.Equal(t, "checksum", c.Signs[0].Artifacts)
	assert.Contains(t, strings.Join(c.Signs[0].Args, " "), "--local-user {{ .Env.GPG_FINGERPRINT }}")
	mk, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	assert.Contains(t, string(mk), "$(if $(GPG_FINGERPRINT),,--skip=sign)")
	assert.Contains(t, string(mk), "gpg --batch --verify dist/*SHA256SUMS.sig")
}
