package render_test

import (
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/recipes"
)

// ---------------------------------------------------------------------------
// kubelet and crictl.

func checkConsumerKubelet(t *testing.T, cp *consumerPlan) {
	const dir = "/etc/kubernetes/kubelet.conf.d"
	dropIns := cp.filesUnder(dir)
	require.NotEmpty(t, dropIns, "no KubeletConfiguration drop-in")
	for _, f := range dropIns {
		t.Run(path.Base(f.Path), func(t *testing.T) {
			assert.True(t, strings.HasSuffix(f.Path, ".conf"), "kubelet reads only *.conf drop-ins")
			var kc kubeletv1beta1.KubeletConfiguration
			require.NoError(t, yaml.UnmarshalStrict(f.Content, &kc), "%s", f.Path)
			assert.Equal(t, "kubelet.config.k8s.io/v1beta1", kc.APIVersion)
			assert.Equal(t, "KubeletConfiguration", kc.Kind)
			assert.Equal(t, "systemd", kc.CgroupDriver)
			assert.Equal(t, cp.plan.Runtime.Endpoint, kc.ContainerRuntimeEndpoint)
		})
	}
	// kubelet is pointed at the drop-in directory.
	envFile := "/etc/default/kubelet"
	if cp.plan.Family != recipes.FamilyApt {
		envFile = "/etc/sysconfig/kubelet"
	}
	env := consumerEnvFile(t, cp.file(t, envFile).Content)
	assert.Contains(t, strings.Fields(env["KUBELET_EXTRA_ARGS"]), "--config-dir="+dir)
}

// consumerEnvFile parses a systemd EnvironmentFile of plain KEY=VALUE lines.
func consumerEnvFile(t *testing.T, b []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "environment file line %q has no '='", line)
		out[k] = strings.Trim(v, `"`)
	}
	return out
}

// consumerCrictlConfig holds the keys crictl reads from crictl.yaml.
type consumerCrictlConfig struct {
	RuntimeEndpoint   string `json:"runtime-endpoint"`
	ImageEndpoint     string `json:"image-endpoint"`
	Timeout           int    `json:"timeout"`
	Debug             bool   `json:"debug"`
	PullImageOnCreate bool   `json:"pull-image-on-create"`
	DisablePullOnRun  bool   `json:"disable-pull-on-run"`
}

func checkConsumerCrictl(t *testing.T, cp *consumerPlan) {
	var c consumerCrictlConfig
	require.NoError(t, yaml.UnmarshalStrict(cp.file(t, "/etc/crictl.yaml").Content, &c))
	assert.Equal(t, cp.plan.Runtime.Endpoint, c.RuntimeEndpoint)
	assert.Equal(t, cp.plan.Runtime.Endpoint, c.ImageEndpoint)
	assert.Positive(t, c.Timeout)
}
