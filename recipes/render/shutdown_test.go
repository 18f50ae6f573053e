package render_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kubebake/kubebake/recipes"
)

// TestGracefulShutdown: on by default (30s, 10s of it for critical pods),
// logind's inhibit delay raised to match; off with 0s; a short period
// keeps no part for critical pods unless asked.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	const logind = "/etc/systemd/logind.conf.d/10-kubebake-kubelet.conf"
	const kubelet = "/etc/kubernetes/kubelet.conf.d/10-kubebake.conf"
	cases := []struct {
		name        string
		fields      []recipes.Field
		wantKubelet string
		wantLogind  string
	}{
		{name: "default", wantKubelet: "shutdownGracePeriod: 30s\nshutdownGracePeriodCriticalPods: 10s\n", wantLogind: "InhibitDelayMaxSec=30\n"},
		{name: "longer", fields: []recipes.Field{{Path: "node.shutdownGracePeriod", Value: "2m"}},
			wantKubelet: "shutdownGracePeriod: 2m\nshutdownGracePeriodCriticalPods: 10s\n", wantLogind: "InhibitDelayMaxSec=120\n"},
		{name: "short", fields: []recipes.Field{{Path: "node.shutdownGracePeriod", Value: "15s"}},
			wantKubelet: "shutdownGracePeriod: 15s\nshutdownGracePeriodCriticalPods: 0s\n", wantLogind: "InhibitDelayMaxSec=15\n"},
		{name: "off", fields: []recipes.Field{{Path: "node.shutdownGracePeriod", Value: "0s"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := loadPlan(t, "debian-13-containerd", overlay(t, tc.fields...))
			files := map[string]string{}
			for _, f := range p.Files {
				files[f.Path] = string(f.Content)
			}
			if tc.wantLogind == "" {
				assert.NotContains(t, files, logind)
				assert.NotContains(t, files[kubelet], "shutdownGracePeriod")
				return
			}
			assert.Contains(t, files[kubelet], tc.wantKubelet)
			assert.Contains(t, files[logind], "[Login]\n"+tc.wantLogind)
		})
	}
}
