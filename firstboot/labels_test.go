package firstboot

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kubebake/kubebake/api"
)

func TestImageLabels(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		info api.ImageInfo
		want map[string]string
	}{
		{
			name: "a kubebake image",
			info: api.ImageInfo{Recipe: "debian-13-containerd", KubernetesVersion: "v1.36.3", Runtime: "containerd",
				PlanDigest: "sha256:3c32e23a4aa6805c59deadeaadd021f9c7fcb5bb184ae37ee1ca9a19f3058ea6"},
			want: map[string]string{
				"kubebake.dev/recipe": "debian-13-containerd", "kubebake.dev/plan": "3c32e23a4aa6",
				"kubebake.dev/kubernetes-version": "v1.36.3", "kubebake.dev/runtime": "containerd",
			},
		},
		{
			name: "baked before the digest was recorded",
			info: api.ImageInfo{Recipe: "r", KubernetesVersion: "v1.37.0-rc.1", Runtime: "cri-o"},
			want: map[string]string{"kubebake.dev/recipe": "r", "kubebake.dev/kubernetes-version": "v1.37.0-rc.1", "kubebake.dev/runtime": "cri-o"},
		},
		{
			name: "values made label values",
			info: api.ImageInfo{Recipe: "-my recipe-", KubernetesVersion: "v1.36.3+vendor.1", PlanDigest: "md5:abc"},
			want: map[string]string{"kubebake.dev/recipe": "my_recipe", "kubebake.dev/kubernetes-version": "v1.36.3_vendor.1"},
		},
		{name: "no image.json", want: map[string]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := ImageLabels(tc.info)
			assert.Equal(t, tc.want, got)
			for _, v := range got {
				assert.Regexp(t, `^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`, v)
			}
		})
	}
	assert.Equal(t, "abc", labelValue(string(make([]byte, 100))+"abc"), "leading junk goes before the cut")
	assert.Len(t, labelValue(strings.Repeat("a", 70)), 63)
}
