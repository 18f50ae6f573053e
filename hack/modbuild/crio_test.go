package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCrioVersion(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, out, want string }{
		{"release", "crio version 1.36.2\n   GitCommit:      7ec673a2519ec5531073b9e9acc63cc5399c664a\n", "1.36.2"},
		{"no trailing lines", "crio version 1.35.2", "1.35.2"},
		{"another program", "cri-dockerd 0.4.3 (d969e29)\n", ""},
		{"nothing", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, crioVersion(tc.out))
		})
	}
}

func TestBuildDate(t *testing.T) {
	t.Parallel()
	got, err := buildDate("")
	require.NoError(t, err)
	assert.Equal(t, "1970-01-01T00:00:00Z", got)
	got, err = buildDate("1764633600")
	require.NoError(t, err)
	assert.Equal(t, "2025-12-02T00:00:00Z", got)
	_, err = buildDate("yesterday")
	require.EqualError(t, err, "SOURCE_DATE_EPOCH='yesterday' is not a number of seconds")
}

func TestReleaseReplaces(t *testing.T) {
	t.Parallel()
	gomod := `module github.com/cri-o/cri-o

go 1.26.3

require (
	capnproto.org/go/capnp/v3 v3.1.0-alpha.2 // indirect
	k8s.io/api v0.36.0-rc.0
	k8s.io/cri-api v0.36.0-rc.0
	k8s.io/klog/v2 v2.140.0
	k8s.io/kubelet v0.36.0-beta.1
	k8s.io/utils v0.0.0-20260210185600-b8788abfbbc2
	k8s.io/streaming v0.36.0-rc.0 // indirect
)
`
	reps, err := releaseReplaces("go.mod", []byte(gomod))
	require.NoError(t, err)
	var got []string
	for _, r := range reps {
		got = append(got, r.String())
	}
	assert.Equal(t, []string{
		"k8s.io/api => k8s.io/api v0.36.0",
		"k8s.io/cri-api => k8s.io/cri-api v0.36.0",
		"k8s.io/kubelet => k8s.io/kubelet v0.36.0",
		"k8s.io/streaming => k8s.io/streaming v0.36.0",
	}, got, "pre-releases of k8s.io modules only: not pseudo-versions, releases or other modules")

	_, err = releaseReplaces("go.mod", []byte("module x\nrequire (\n"))
	require.Error(t, err)
}
