package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReferenceCurrent fails when docs/recipe-reference.md no longer
// matches recipes/types.go: run `make generate`.
func TestReferenceCurrent(t *testing.T) {
	src, err := os.ReadFile("../../recipes/types.go")
	require.NoError(t, err)
	got, err := Generate(src)
	require.NoError(t, err)
	want, err := os.ReadFile("../../docs/recipe-reference.md")
	require.NoError(t, err, "run make generate")
	require.Equal(t, string(want), string(got), "docs/recipe-reference.md is stale: run make generate")
	require.Contains(t, string(got), "| `sandboxImage` | string |")
	require.Contains(t, string(got), "## `runtime.mirrors[]`")
}
