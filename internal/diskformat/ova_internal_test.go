package diskformat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFileStem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{name: "recipe name stays", in: "debian-13-containerd", want: "debian-13-containerd"},
		{name: "dots and underscores stay", in: "ubuntu-24.04_node", want: "ubuntu-24.04_node"},
		{name: "spaces, slashes and markup become dashes", in: `a b/c<d>&"e"`, want: "a-b-c-d---e-"},
		{name: "non-ASCII: one dash per rune", in: "nœud", want: "n-ud"},
		{name: "no leading dot (a hidden file)", in: "..x", want: "x"},
		{name: "nothing left", in: "...", want: "kubebake"},
		{name: "cut at 64 bytes", in: strings.Repeat("a", 100), want: strings.Repeat("a", 64)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, fileStem(tc.in))
		})
	}
}

// TestPackOVATooLarge: a disk larger than a USTAR member can be (8 GiB - 1
// bytes; a sparse file here) is refused before anything is written, and
// the previous file stays.
func TestPackOVATooLarge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vmdk := filepath.Join(dir, "big-disk1.vmdk")
	f, err := os.Create(vmdk)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(maxUSTARSize+1))
	require.NoError(t, f.Close())
	out := t.TempDir()
	dst := filepath.Join(out, "big.ova")
	require.NoError(t, os.WriteFile(dst, []byte("old"), 0o644))
	err = packOVA(dst, dir, "big", []byte("<Envelope/>"), vmdk)
	require.ErrorContains(t, err, "ova: the disk is 8589934592 bytes; a USTAR archive (which DSP0243 requires) holds at most 8589934591 bytes a file")
	b, err := os.ReadFile(dst)
	require.NoError(t, err)
	assert.Equal(t, "old", string(b))
	_, err = os.Stat(filepath.Join(dir, "big.ova"))
	assert.True(t, os.IsNotExist(err), "nothing was written")
}
