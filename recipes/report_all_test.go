package recipes_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes"
)

// TestEveryProblemAtOnce: decode-level problems (unknown fields, duplicate
// keys, values of the wrong shape) do not hide the field errors after
// them, each is reported once with its position and path, and text a
// recipe may not hold is placed too.
func TestEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{
			name: "decode-level problems and field errors",
			doc: "apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t}\nfrom: debian-13-containerd\nbogus: 1\n" +
				"runtime:\n  kind: containerd\n  kind: containerd\n" +
				"node:\n  kernelModules: overlay\n  sysctls: {a.b: \"1\"}\n  sysctls: {c.d: \"1\"}\n" +
				"images:\n  preload: maybe\n" +
				"hooks:\n  before: [{name: \"Bad Name\", run: \"\"}]\n",
			want: []string{
				`t.yaml:5:1: bogus: unknown field "bogus"`,
				`t.yaml:8:3: runtime.kind: duplicate key "kind" (first at line 7)`,
				`t.yaml:10:18: node.kernelModules: expected a list, got "overlay"`,
				`t.yaml:12:3: node.sysctls: duplicate key "sysctls" (first at line 11)`,
				`t.yaml:14:12: images.preload: expected true or false, got "maybe"`,
				`t.yaml:16:19: hooks.before[0].name: "Bad Name" must be lower-case letters, digits and '-'`,
				`t.yaml:16:36: hooks.before[0].run: a hook needs a script`,
			},
		},
		{
			name: "two duplicate keys beside an unknown field",
			doc:  "apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nkind: Recipe\nmetadata: {name: t, name: u}\nbase: {distro: debian, release: \"13\", flavour: x}\nruntime: {kind: containerd}\n",
			want: []string{
				`t.yaml:3:1: kind: duplicate key "kind" (first at line 2)`,
				`t.yaml:4:21: metadata.name: duplicate key "name" (first at line 4)`,
				`t.yaml:5:39: base.flavour: unknown field "flavour"`,
			},
		},
		{
			name: "a NUL byte",
			doc:  "apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nmetadata: {name: \"a\x00b\"}\n",
			want: []string{`t.yaml:3:20: control character U+0000 is not allowed: a recipe is text`},
		},
		{
			name: "invalid UTF-8",
			doc:  "apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nmetadata:\n  name: \"a\xffb\"\n",
			want: []string{`t.yaml:4:11: invalid UTF-8 (byte 0xff): a recipe is UTF-8 text`},
		},
		{
			name: "binary input",
			doc:  "\x7fELF\x02\x01\x01\x00",
			want: []string{`t.yaml:1:1: control character U+007F is not allowed: a recipe is text`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := recipes.Decode("t.yaml", []byte(tc.doc))
			require.Error(t, err)
			var got []string
			for _, e := range l.Report.Errors() {
				got = append(got, e.String())
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestRecipeFileBounds: a recipe is a regular file of bounded size.
func TestRecipeFileBounds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	require.NoError(t, os.WriteFile(big, nil, 0o644))
	require.NoError(t, os.Truncate(big, recipes.MaxRecipeSize+1))
	_, err := recipes.Load(big)
	require.ErrorContains(t, err, "big.yaml: more than the limit of 4194304 bytes for a recipe")
	fifo := filepath.Join(dir, "fifo.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	done := make(chan error, 1)
	go func() { _, err := recipes.Load(fifo); done <- err }()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "fifo.yaml is not a regular file")
	case <-time.After(10 * time.Second):
		t.Fatal("loading a FIFO hangs")
	}
}
