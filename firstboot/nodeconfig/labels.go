package nodeconfig

import "strings"

// The labels kubebake-firstboot puts on the Node from the image's
// image.json, so that a rollout shows which image each node runs
// (kubectl get nodes -L kubebake.dev/recipe,kubebake.dev/plan); a
// NodeConfig may not set them.
const (
	LabelRecipe            = "kubebake.dev/recipe"
	LabelPlan              = "kubebake.dev/plan"
	LabelKubernetesVersion = "kubebake.dev/kubernetes-version"
	LabelRuntime           = "kubebake.dev/runtime"
)

// imageLabel reports whether key is one of the image's labels.
func imageLabel(key string) bool {
	switch key {
	case LabelRecipe, LabelPlan, LabelKubernetesVersion, LabelRuntime:
		return true
	}
	return false
}

// kubeletLabels and kubeletLabelNamespaces are the kubernetes.io and k8s.io
// labels a kubelet may set on its own Node (k8s.io/kubelet/pkg/apis,
// IsKubeletLabel; a test holds them equal). The kubelet refuses to start
// with any other label in those namespaces in --node-labels.
var (
	kubeletLabels = map[string]bool{
		"kubernetes.io/hostname":                   true,
		"topology.kubernetes.io/zone":              true,
		"topology.kubernetes.io/region":            true,
		"failure-domain.beta.kubernetes.io/zone":   true,
		"failure-domain.beta.kubernetes.io/region": true,
		"beta.kubernetes.io/instance-type":         true,
		"node.kubernetes.io/instance-type":         true,
		"kubernetes.io/os":                         true,
		"kubernetes.io/arch":                       true,
		"beta.kubernetes.io/os":                    true,
		"beta.kubernetes.io/arch":                  true,
	}
	kubeletLabelNamespaces = []string{"kubelet.kubernetes.io", "node.kubernetes.io"}
)

// KubeletMaySet reports whether a kubelet may register its Node with the
// label key: any key outside the kubernetes.io and k8s.io namespaces, and
// within them the kubelet's own.
func KubeletMaySet(key string) bool {
	ns, _, ok := strings.Cut(key, "/")
	if !ok {
		return true
	}
	if !inNamespace(ns, "kubernetes.io") && !inNamespace(ns, "k8s.io") {
		return true
	}
	if kubeletLabels[key] {
		return true
	}
	for _, allowed := range kubeletLabelNamespaces {
		if inNamespace(ns, allowed) {
			return true
		}
	}
	return false
}

func inNamespace(ns, domain string) bool { return ns == domain || strings.HasSuffix(ns, "."+domain) }
