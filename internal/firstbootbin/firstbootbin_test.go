package firstbootbin

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGOARCH(t *testing.T) {
	for machine, want := range map[string]string{"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"} {
		got, err := GOARCH(machine)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := GOARCH("riscv64")
	assert.ErrorContains(t, err, `"riscv64"`)
}
