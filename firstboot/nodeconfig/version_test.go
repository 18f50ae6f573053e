package nodeconfig

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMinor(t *testing.T) {
	for _, tc := range []struct {
		name, version string
		want          int
		wantErr       bool
	}{
		{name: "release", version: "v1.36.3", want: 36},
		{name: "no v", version: "1.31.0", want: 31},
		{name: "no patch", version: "v1.30", want: 30},
		{name: "pre-release", version: "v1.37.0-rc.1", want: 37},
		{name: "major 2", version: "v2.0.0", wantErr: true},
		{name: "minor not a number", version: "v1.x.0", wantErr: true},
		{name: "negative minor", version: "v1.-1.0", wantErr: true},
		{name: "major only", version: "v1", wantErr: true},
		{name: "empty", version: "", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Minor(tc.version)
			if tc.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), fmt.Sprintf("kubernetes version %q", tc.version))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
