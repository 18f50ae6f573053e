package render_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"
)

const consumerLogindDropIn = "/etc/systemd/logind.conf.d/10-kubebake-kubelet.conf"

// checkConsumerShutdown: graceful node shutdown as the kubelet and logind
// read it. The kubelet's periods parse as its KubeletConfiguration, the
// critical pods' part no longer than the whole, and logind, as systemd
// assembles its configuration in the image's root, lets a shutdown be held
// exactly that long.
func checkConsumerShutdown(t *testing.T, cp *consumerPlan) {
	var kc kubeletv1beta1.KubeletConfiguration
	require.NoError(t, yaml.UnmarshalStrict(cp.file(t, "/etc/kubernetes/kubelet.conf.d/10-kubebake.conf").Content, &kc))
	grace, critical := kc.ShutdownGracePeriod.Duration, kc.ShutdownGracePeriodCriticalPods.Duration
	if grace == 0 {
		_, ok := cp.files[consumerLogindDropIn]
		assert.False(t, ok, "graceful shutdown is off: no logind drop-in")
		return
	}
	assert.LessOrEqual(t, critical, grace)
	bin := consumerBinary(t, "systemd-analyze")
	out, err := exec.Command(bin, "--root="+cp.rootfs("/"), "cat-config", "systemd/logind.conf").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "# "+cp.rootfs(consumerLogindDropIn)+"\n", "logind reads the drop-in")
	inhibit := ""
	section := ""
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			section = line
		}
		if k, v, ok := strings.Cut(line, "="); ok && section == "[Login]" && k == "InhibitDelayMaxSec" {
			inhibit = v // the last one read wins
		}
	}
	assert.Equal(t, fmt.Sprint(int(grace.Seconds())), inhibit, "logind holds a shutdown as long as the kubelet asks")
}
