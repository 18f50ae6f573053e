package recipes_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes"
)

// TestPlainScalars: a string field holds what its author wrote, or the
// recipe is refused at that field; never what YAML 1.1 made of it.
func TestPlainScalars(t *testing.T) {
	t.Parallel()
	const head = "apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\nmetadata: {name: t}\nfrom: debian-13-containerd\n"
	tests := []struct {
		name     string
		doc      string
		wantMode string
		wantErr  string
	}{
		{name: "YAML 1.1 octal mode", doc: "node:\n  files: [{path: /etc/a, mode: 0644, content: a}]\n", wantMode: "0644"},
		{name: "YAML 1.1 octal mode, four digits", doc: "node:\n  files: [{path: /etc/a, mode: 01750, content: a}]\n", wantMode: "1750"},
		{name: "YAML 1.2 octal mode", doc: "node:\n  files: [{path: /etc/a, mode: 0o640, content: a}]\n", wantMode: "0640"},
		{name: "quoted mode", doc: "node:\n  files: [{path: /etc/a, mode: \"0640\", content: a}]\n", wantMode: "0640"},
		{name: "decimal digits of a mode", doc: "node:\n  files: [{path: /etc/a, mode: 640, content: a}]\n", wantMode: "640"},
		{
			name:    "hexadecimal mode",
			doc:     "node:\n  files: [{path: /etc/a, mode: 0x1A4, content: a}]\n",
			wantErr: `t.yaml:6:32: node.files[0].mode: 0x1A4 is read as "420" by YAML; quote it ("0x1A4") to mean the text`,
		},
		{
			name:    "a CRI-O minor as a float",
			doc:     "runtime: {version: 1.30}\n",
			wantErr: `t.yaml:5:20: runtime.version: 1.30 is read as "1.3" by YAML; quote it ("1.30") to mean the text`,
		},
		{
			name:    "a YAML 1.1 boolean word",
			doc:     "node:\n  sysctls: {net.ipv4.tcp_syncookies: on}\n",
			wantErr: `t.yaml:6:38: node.sysctls[net.ipv4.tcp_syncookies]: on is read as "true" by YAML; quote it ("on") to mean the text`,
		},
		{
			name:    "an octal-looking sysctl value",
			doc:     "node:\n  sysctls: {kernel.x: 0755}\n",
			wantErr: `t.yaml:6:23: node.sysctls[kernel.x]: 0755 is read as "493" by YAML; quote it ("0755") to mean the text`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := recipes.Decode("t.yaml", []byte(head+tc.doc))
			if tc.wantErr != "" {
				require.Error(t, err)
				var got []string
				for _, e := range l.Report.Errors() {
					got = append(got, e.String())
				}
				assert.Equal(t, []string{tc.wantErr}, got)
				return
			}
			require.NoError(t, err)
			require.Len(t, l.Recipe.Node.Files, 1)
			assert.Equal(t, tc.wantMode, l.Recipe.Node.Files[0].Mode)
		})
	}
}
