package render_test

import (
	"bytes"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ---------------------------------------------------------------------------
// containerd.

const consumerCRIPlugin = "io.containerd.grpc.v1.cri"

func checkConsumerContainerd(t *testing.T, cp *consumerPlan) {
	bin := consumerBinary(t, "containerd")
	cfg := cp.file(t, "/etc/containerd/config.toml")
	var head struct {
		Version int      `toml:"version"`
		Imports []string `toml:"imports"`
	}
	require.NoError(t, toml.Unmarshal(cfg.Content, &head), "config.toml is not TOML")
	assert.Equal(t, 2, head.Version, "config.toml version")
	// containerd's imports replace whole plugin sections, so the recipe's
	// runtime.config is merged into config.toml itself, never imported.
	assert.Empty(t, head.Imports, "config.toml must not import drop-ins")
	cfgPath := cp.rootfs("/etc/containerd/config.toml")

	stdout, stderr, err := consumerRun(bin, "--config", cfgPath, "config", "dump")
	require.NoError(t, err, "containerd config dump rejects /etc/containerd/config.toml:\n%s%s", stderr, stdout)
	if strings.TrimSpace(stderr) != "" {
		t.Logf("containerd config dump stderr:\n%s", stderr)
	}
	var dump map[string]any
	require.NoError(t, toml.Unmarshal([]byte(stdout), &dump), "containerd's dump is not TOML:\n%s", stdout)

	cri := []string{"plugins", consumerCRIPlugin}
	at := func(keys ...string) []string { return append(append([]string{}, cri...), keys...) }
	assert.Equal(t, true, consumerDig(dump, at("containerd", "runtimes", "runc", "options", "SystemdCgroup")...),
		"containerd's effective config does not have SystemdCgroup = true")
	assert.Equal(t, cp.plan.Runtime.SandboxImage, consumerDig(dump, at("sandbox_image")...),
		"containerd's effective sandbox_image")
	assert.Equal(t, "/etc/containerd/certs.d", consumerDig(dump, at("registry", "config_path")...),
		"containerd's effective registry config_path")
	assert.Equal(t, "runc", consumerDig(dump, at("containerd", "default_runtime_name")...))
	assert.Equal(t, "io.containerd.runc.v2", consumerDig(dump, at("containerd", "runtimes", "runc", "runtime_type")...))

	// Every setting of the recipe's runtime.config is in effect.
	if user := cp.loaded.Recipe.Runtime.Config; user != "" {
		var m map[string]any
		require.NoError(t, toml.Unmarshal([]byte(user), &m), "runtime.config is not TOML")
		leaves := consumerLeaves(nil, m)
		require.NotEmpty(t, leaves)
		for _, leaf := range leaves {
			if len(leaf.keys) == 1 && leaf.keys[0] == "version" {
				continue
			}
			assert.Equal(t, leaf.value, consumerDig(dump, leaf.keys...),
				"runtime.config sets %s, but containerd's effective config differs", strings.Join(leaf.keys, "."))
		}
	}
}

type consumerLeaf struct {
	keys  []string
	value any
}

func consumerLeaves(prefix []string, m map[string]any) []consumerLeaf {
	var out []consumerLeaf
	for k, v := range m {
		keys := append(append([]string{}, prefix...), k)
		if sub, ok := v.(map[string]any); ok {
			out = append(out, consumerLeaves(keys, sub)...)
			continue
		}
		out = append(out, consumerLeaf{keys: keys, value: v})
	}
	return out
}

func consumerDig(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

// consumerContainerdHosts holds the documented keys of containerd's hosts.toml
// (docs/hosts.md): the server's own settings and [host."URL"] tables.
type consumerContainerdHosts struct {
	Server       string                            `toml:"server"`
	Capabilities []string                          `toml:"capabilities"`
	CA           any                               `toml:"ca"`
	Client       any                               `toml:"client"`
	SkipVerify   *bool                             `toml:"skip_verify"`
	Header       map[string]any                    `toml:"header"`
	OverridePath *bool                             `toml:"override_path"`
	Host         map[string]consumerContainerdHost `toml:"host"`
}

type consumerContainerdHost struct {
	Capabilities []string       `toml:"capabilities"`
	CA           any            `toml:"ca"`
	Client       any            `toml:"client"`
	SkipVerify   *bool          `toml:"skip_verify"`
	Header       map[string]any `toml:"header"`
	OverridePath *bool          `toml:"override_path"`
}

var consumerHostTableRE = regexp.MustCompile(`(?m)^\[host\.("(?:[^"\\]|\\.)*")\]\s*$`)

func checkConsumerContainerdHosts(t *testing.T, cp *consumerPlan) {
	const dir = "/etc/containerd/certs.d"
	mirrors := cp.loaded.Recipe.Runtime.Mirrors
	placed := cp.filesUnder(dir)
	assert.Len(t, placed, len(mirrors), "one hosts.toml per mirrored registry")
	for _, m := range mirrors {
		t.Run(m.Registry, func(t *testing.T) {
			f := cp.file(t, dir+"/"+m.Registry+"/hosts.toml")
			var h consumerContainerdHosts
			dec := toml.NewDecoder(bytes.NewReader(f.Content))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&h), "%s", f.Path)

			server := "https://" + m.Registry
			if m.Registry == "docker.io" {
				server = "https://registry-1.docker.io"
			}
			assert.Equal(t, server, h.Server, "server")
			var want []string
			for _, e := range m.Endpoints {
				want = append(want, strings.TrimSuffix(e, "/"))
			}
			// containerd tries hosts in file order: check it on the text.
			var order []string
			for _, mm := range consumerHostTableRE.FindAllStringSubmatch(string(f.Content), -1) {
				u, err := strconv.Unquote(mm[1])
				require.NoError(t, err)
				order = append(order, u)
			}
			assert.Equal(t, want, order, "host tables, in order")
			require.Len(t, h.Host, len(want))
			for _, e := range want {
				host, ok := h.Host[e]
				if !assert.True(t, ok, "no [host.%q]", e) {
					continue
				}
				u, err := url.Parse(e)
				require.NoError(t, err)
				assert.Contains(t, []string{"http", "https"}, u.Scheme)
				assert.NotEmpty(t, u.Host)
				assert.ElementsMatch(t, []string{"pull", "resolve"}, host.Capabilities, "%s capabilities", e)
			}
		})
	}
}
