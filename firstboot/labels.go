package firstboot

import (
	"strings"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/firstboot/nodeconfig"
)

// ImageLabels are the Node labels that say which image the node runs, from
// its image.json: recipe, the plan digest's first 12 hex digits,
// Kubernetes version and runtime. A value that is not a valid label value
// as it is (a version with build metadata) is made one; an empty field
// gives no label. An image without image.json gives none.
func ImageLabels(info api.ImageInfo) map[string]string {
	out := map[string]string{}
	add := func(key, value string) {
		if v := labelValue(value); v != "" {
			out[key] = v
		}
	}
	add(nodeconfig.LabelRecipe, info.Recipe)
	if d, ok := strings.CutPrefix(info.PlanDigest, "sha256:"); ok && len(d) >= 12 {
		add(nodeconfig.LabelPlan, d[:12])
	}
	add(nodeconfig.LabelKubernetesVersion, info.KubernetesVersion)
	add(nodeconfig.LabelRuntime, info.Runtime)
	return out
}

// labelValue makes s a label value: characters other than letters,
// digits, '-', '_' and '.' become '_', and it is trimmed to begin with a
// letter or digit, cut to 63 characters and trimmed to end with one.
func labelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	for len(b) > 0 && !alnum(b[0]) {
		b = b[1:]
	}
	if len(b) > 63 {
		b = b[:63]
	}
	for len(b) > 0 && !alnum(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return string(b)
}
