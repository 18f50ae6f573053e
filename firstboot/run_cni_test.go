package firstboot_test

import (
	"encoding/json"
	"io/fs"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot"
)

func TestRunBridgeCNI(t *testing.T) {
	t.Parallel()
	getNode := "kubectl --kubeconfig ROOT/etc/kubernetes/kubelet.conf get node node-1 -o jsonpath={.spec.podCIDRs[*]}"
	join := "kubeadm join --config ROOT/etc/kubebake/kubeadm.yaml"
	for _, tc := range []struct {
		name       string
		cni        string
		podCIDRs   string
		waits      int
		wantCmds   []string
		wantWaits  []time.Duration
		wantRanges []string
		wantRoutes []string
		wantBridge string
	}{
		{
			name: "the node's allocated range, after waiting for it", cni: "cni:\n  bridge: {}\n",
			podCIDRs: "10.244.1.0/24", waits: 2,
			wantCmds:  []string{join, getNode, getNode, getNode},
			wantWaits: []time.Duration{5 * time.Second, 5 * time.Second}, wantRanges: []string{"10.244.1.0/24"},
			wantRoutes: []string{"0.0.0.0/0"}, wantBridge: "cni0",
		},
		{
			name: "dual stack", cni: "cni:\n  bridge: {name: br-pods}\n", podCIDRs: "10.244.1.0/24 fd00:10:244:1::/64",
			wantCmds: []string{join, getNode}, wantRanges: []string{"10.244.1.0/24", "fd00:10:244:1::/64"},
			wantRoutes: []string{"0.0.0.0/0", "::/0"}, wantBridge: "br-pods",
		},
		{
			name: "a range given in the config asks nothing", cni: "cni:\n  bridge: {subnet: 10.85.0.1/16}\n",
			wantCmds: []string{join}, wantRanges: []string{"10.85.0.0/16"}, wantRoutes: []string{"0.0.0.0/0"}, wantBridge: "cni0",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, joinConfig+tc.cni)
			n.runner.podCIDRs, n.runner.podCIDRWaits = tc.podCIDRs, tc.waits
			require.NoError(t, n.run())
			assert.Equal(t, tc.wantCmds, n.runner.commands(n.root))
			assert.Equal(t, tc.wantWaits, n.clock.waits())
			assert.Equal(t, []string{"config=success", "preflight=success", "hooks-before=success", "kubeadm=success", "cni=success", "hooks-after=success"}, phaseNames(n.status()))

			var conf struct {
				CNIVersion string `json:"cniVersion"`
				Plugins    []struct {
					Type   string `json:"type"`
					Bridge string `json:"bridge"`
					IPMasq bool   `json:"ipMasq"`
					IPAM   struct {
						Type   string                `json:"type"`
						Ranges [][]map[string]string `json:"ranges"`
						Routes []map[string]string   `json:"routes"`
					} `json:"ipam"`
				} `json:"plugins"`
			}
			require.NoError(t, json.Unmarshal([]byte(n.read(firstboot.BridgeConflist)), &conf))
			assert.Equal(t, fs.FileMode(0o644), n.mode(firstboot.BridgeConflist))
			assert.Equal(t, "1.0.0", conf.CNIVersion)
			require.Len(t, conf.Plugins, 2)
			assert.Equal(t, "portmap", conf.Plugins[1].Type)
			br := conf.Plugins[0]
			assert.Equal(t, "bridge", br.Type)
			assert.Equal(t, tc.wantBridge, br.Bridge)
			assert.True(t, br.IPMasq)
			assert.Equal(t, "host-local", br.IPAM.Type)
			var ranges, routes []string
			for _, r := range br.IPAM.Ranges {
				require.Len(t, r, 1)
				ranges = append(ranges, r[0]["subnet"])
			}
			for _, r := range br.IPAM.Routes {
				routes = append(routes, r["dst"])
			}
			assert.Equal(t, tc.wantRanges, ranges)
			assert.Equal(t, tc.wantRoutes, routes)
		})
	}
}

func TestRunBridgeCNINoPodRange(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig+"cni:\n  bridge: {}\ntimeouts:\n  podCIDR: 30s\n")
	err := n.run()
	require.ErrorIs(t, err, firstboot.ErrFailed)
	s := n.status()
	assert.Equal(t, firstboot.ResultFailure, s.Result)
	assert.Equal(t, "cni", s.Phase)
	assert.Contains(t, s.Error, "node node-1 has no pod range after 30s")
	assert.Contains(t, s.Error, "cluster.podSubnet")
	assert.Len(t, n.clock.waits(), 5, "polled every 5s until the 30s were up")
	assert.False(t, n.exists(firstboot.BridgeConflist))
	assert.True(t, n.exists(firstboot.KubeadmDoneMarker), "kubeadm succeeded: a later attempt resumes after it")
	lines := n.consoleLines()
	require.Len(t, lines, 1)
	assert.Contains(t, lines[0], "FAILED: cni phase")
}
