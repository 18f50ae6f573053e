package vm_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/vm"
)

func TestFirmwareCopiesVariables(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, vars := filepath.Join(dir, "CODE.fd"), filepath.Join(dir, "VARS.fd")
	require.NoError(t, os.WriteFile(code, []byte("code"), 0o444))
	require.NoError(t, os.WriteFile(vars, []byte("vars"), 0o444))
	work := t.TempDir()
	gotCode, gotVars, err := vm.Firmware(code, vars, work)
	require.NoError(t, err)
	assert.Equal(t, code, gotCode)
	assert.Equal(t, filepath.Join(work, "OVMF_VARS.fd"), gotVars, "a writable copy in the work directory")
	b, err := os.ReadFile(gotVars)
	require.NoError(t, err)
	assert.Equal(t, "vars", string(b))
	require.NoError(t, os.WriteFile(gotVars, []byte("changed"), 0o644), "the copy is writable")

	_, _, err = vm.Firmware(code, filepath.Join(dir, "missing.fd"), work)
	require.ErrorContains(t, err, "OVMF variables")
}
