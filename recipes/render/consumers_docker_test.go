package render_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ---------------------------------------------------------------------------
// Docker.

func checkConsumerDocker(t *testing.T, cp *consumerPlan) {
	bin := consumerBinary(t, "dockerd")
	f := cp.file(t, "/etc/docker/daemon.json")
	stdout, stderr, err := consumerRun(bin, "--validate", "--config-file", cp.rootfs(f.Path))
	require.NoError(t, err, "dockerd --validate rejects /etc/docker/daemon.json:\n%s%s\n%s", stderr, stdout, f.Content)
	assert.Contains(t, stdout+stderr, "configuration OK")

	var cfg map[string]any
	require.NoError(t, json.Unmarshal(f.Content, &cfg))
	assert.Equal(t, []any{"native.cgroupdriver=systemd"}, cfg["exec-opts"])
	var want []any
	for _, m := range cp.loaded.Recipe.Runtime.Mirrors {
		if m.Registry != "docker.io" {
			continue
		}
		for _, e := range m.Endpoints {
			want = append(want, strings.TrimSuffix(e, "/"))
		}
	}
	if want == nil {
		assert.NotContains(t, cfg, "registry-mirrors")
	} else {
		assert.Equal(t, want, cfg["registry-mirrors"], "registry-mirrors")
	}
	if user := cp.loaded.Recipe.Runtime.Config; strings.TrimSpace(user) != "" {
		var u map[string]any
		require.NoError(t, json.Unmarshal([]byte(user), &u))
		for k, v := range u {
			assert.Equal(t, v, cfg[k], "runtime.config sets %s", k)
		}
	}
}
