package bake

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestImageName(t *testing.T) {
	t.Parallel()
	d := NameData{Recipe: "debian-13-containerd", KubernetesVersion: "v1.36.3", Runtime: "containerd", Arch: "amd64",
		Date: "20261202", Time: "070102", ShortDigest: "4d6c2ac8efec"}
	tests := []struct {
		name, tmpl, want, wantErr string
	}{
		{name: "recipe", tmpl: "{{.Recipe}}", want: "debian-13-containerd"},
		{name: "versioned", tmpl: "{{.Recipe}}-{{.KubernetesVersion}}-{{.Date}}-{{.ShortDigest}}", want: "debian-13-containerd-v1.36.3-20261202-4d6c2ac8efec"},
		{name: "unknown field", tmpl: "{{.Flavour}}", wantErr: "can't evaluate field Flavour"},
		{name: "bad syntax", tmpl: "{{.Recipe", wantErr: "--name:"},
		{name: "a path", tmpl: "../{{.Recipe}}", wantErr: "is not a file name"},
		{name: "hidden", tmpl: ".{{.Recipe}}", wantErr: "is not a file name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tm, err := parseName(tc.tmpl)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			got, err := execName(tm, d)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
