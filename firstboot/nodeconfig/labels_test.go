package nodeconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
	kubeletapis "k8s.io/kubelet/pkg/apis"
)

// TestKubeletMaySet holds KubeletMaySet to the kubelet's own rule
// (kubeletapis.IsKubeletLabel within the kubernetes.io and k8s.io
// namespaces), which firstboot cannot import and stay small.
func TestKubeletMaySet(t *testing.T) {
	t.Parallel()
	for _, k := range kubeletapis.KubeletLabels() {
		assert.True(t, KubeletMaySet(k), k)
	}
	keys := []string{
		"node-role.kubernetes.io/worker", "node-role.kubernetes.io/control-plane", "kubernetes.io/role",
		"node.kubernetes.io/pool", "x.node.kubernetes.io/a", "kubelet.kubernetes.io/a", "sub.kubelet.kubernetes.io/a",
		"k8s.io/a", "x.k8s.io/a", "node.k8s.io/a", "example.com/pool", "pool", "kubernetes.io.example.com/a",
		"topology.kubernetes.io/zone", "topology.kubernetes.io/rack", "kubebake.dev/recipe",
	}
	kubernetes := map[string]bool{"kubernetes.io": true, "k8s.io": true}
	for _, k := range keys {
		ns := ""
		for i := range k {
			if k[i] == '/' {
				ns = k[:i]
				break
			}
		}
		want := true
		for d := range kubernetes {
			if ns == d || (len(ns) > len(d) && ns[len(ns)-len(d)-1:] == "."+d) {
				want = kubeletapis.IsKubeletLabel(k)
			}
		}
		assert.Equal(t, want, KubeletMaySet(k), k)
	}
	assert.False(t, KubeletMaySet("node-role.kubernetes.io/worker"), "the label users most often try")
}
