package atomicfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/testutil"
)

func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "out.json")
	require.NoError(t, os.WriteFile(p, []byte("old"), 0o600))
	require.NoError(t, WriteJSON(p, map[string]int{"a": 1}))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "{\n  \"a\": 1\n}\n", string(b))
	st, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left")
}

func TestWriteFileFailureKeepsOld(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	require.NoError(t, os.WriteFile(p, []byte("old"), 0o644))
	// A directory in the way of the rename: the write fails at the end.
	blocked := filepath.Join(dir, "sub")
	require.NoError(t, os.MkdirAll(filepath.Join(blocked, "x"), 0o755))
	require.Error(t, WriteFile(blocked, []byte("new"), 0o644))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "old", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "the temporary file is removed")
	require.Error(t, WriteJSON(p, func() {}), "a value JSON cannot hold")
}

// TestWriteFileNoSpace: on a full file system (a real ENOSPC, from a small
// tmpfs) the write fails, the old file stays whole and nothing is left.
func TestWriteFileNoSpace(t *testing.T) {
	dir := testutil.Tmpfs(t, "size=64k")
	p := filepath.Join(dir, "status.json")
	require.NoError(t, WriteFile(p, []byte("old"), 0o644))
	err := WriteFile(p, bytes.Repeat([]byte("x"), 128<<10), 0o644)
	require.ErrorContains(t, err, "no space left on device")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "old", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left")
}
