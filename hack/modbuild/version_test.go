package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          string
		want        Version
		bad         bool
		wantStaging string
		wantMinor   string
	}{
		{name: "release", in: "v1.36.3", want: Version{Major: "1", Minor: "36", Patch: "3"}, wantStaging: "v0.36.3", wantMinor: "36"},
		{name: "without v", in: "1.35.4", want: Version{Major: "1", Minor: "35", Patch: "4"}, wantStaging: "v0.35.4", wantMinor: "35"},
		{name: "pre-release", in: "v1.37.0-rc.1", want: Version{Major: "1", Minor: "37", Patch: "0", Pre: "-rc.1"},
			wantStaging: "v0.37.0-rc.1", wantMinor: "37+"},
		{name: "alpha", in: "v1.37.0-alpha.0", want: Version{Major: "1", Minor: "37", Patch: "0", Pre: "-alpha.0"},
			wantStaging: "v0.37.0-alpha.0", wantMinor: "37+"},
		{name: "cri-dockerd", in: "v0.4.3", want: Version{Major: "0", Minor: "4", Patch: "3"}, wantStaging: "v0.4.3", wantMinor: "4"},
		{name: "letters", in: "1.x", bad: true},
		{name: "two parts", in: "v1.36", bad: true},
		{name: "build metadata", in: "v1.36.3+k3s1", bad: true},
		{name: "leading zero", in: "v1.036.3", bad: true},
		{name: "empty pre-release part", in: "v1.36.3-rc..1", bad: true},
		{name: "empty", in: "", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := ParseVersion(tc.in)
			if tc.bad {
				assert.False(t, ok)
				return
			}
			assert.True(t, ok)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, withV(tc.in), got.String())
			assert.Equal(t, tc.wantStaging, got.Staging())
			assert.Equal(t, tc.wantMinor, got.GitMinor())
		})
	}
}

func TestKubeLdflags(t *testing.T) {
	t.Parallel()
	v, _ := ParseVersion("v1.37.0-rc.1")
	assert.Equal(t, "-s -w"+
		" -X k8s.io/component-base/version.gitVersion=v1.37.0-rc.1 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37+"+
		" -X k8s.io/client-go/pkg/version.gitVersion=v1.37.0-rc.1 -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=37+",
		kubeLdflags(v))
}
