package userdata_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/internal/userdata"
)

// badDoc has one field error, role at line 3, column 7 of the NodeConfig.
var badDoc = strings.Replace(doc, "role: join\n", "role: joinx\n", 1)

// positionIn is where the text `joinx` stands in data, as FILE:LINE:COL.
func positionIn(t *testing.T, file string, data []byte) string {
	t.Helper()
	for i, l := range strings.Split(string(data), "\n") {
		if c := strings.Index(l, "role: joinx"); c >= 0 {
			return fmt.Sprintf("%s:%d:%d", file, i+1, c+len("role: ")+1)
		}
	}
	t.Fatalf("role: joinx is not in %q", data)
	return ""
}

// indent prefixes every non-empty line of s.
func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

// TestCheckUserData: user data in every format kubebake generates (and
// gzipped, as EC2 users send it) is checked as the node would read it, each
// problem at its place in the user data when the NodeConfig stands there
// line by line, else at its line in the NodeConfig with the part named.
func TestCheckUserData(t *testing.T) {
	t.Parallel()
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		_, _ = w.Write(b)
		_ = w.Close()
		return buf.Bytes()
	}
	gen := func(format string) func(t *testing.T, d string) []byte {
		return func(t *testing.T, d string) []byte {
			out, err := userdata.Generate([]byte(d), format)
			require.NoError(t, err)
			return out
		}
	}
	tests := []struct {
		name string
		make func(t *testing.T, d string) []byte
		// inPlace says problems stand at their place in the user data.
		inPlace bool
		where   string
	}{
		{name: "raw NodeConfig", make: func(_ *testing.T, d string) []byte { return []byte(d) }, inPlace: true, where: "the whole file"},
		{name: "cloud-config (generated, base64)", make: gen("cloud-config"), where: "write_files /etc/kubebake/node.yaml"},
		{name: "cloud-config (by hand, a literal block)", make: func(_ *testing.T, d string) []byte {
			return []byte("#cloud-config\nwrite_files:\n  - path: /etc/kubebake/node.yaml\n    permissions: '0600'\n    content: |\n" +
				indent(d, "      ") + "runcmd:\n  - [echo, hi]\n")
		}, inPlace: true, where: "write_files /etc/kubebake/node.yaml"},
		{name: "mime (generated, base64)", make: gen("mime"), where: "the MIME part of type application/vnd.kubebake.node+yaml"},
		{name: "mime (by hand, 7bit)", make: func(_ *testing.T, d string) []byte {
			return []byte("Content-Type: multipart/mixed; boundary=\"XX\"\nMIME-Version: 1.0\n\n--XX\nContent-Type: text/x-shellscript\n\n#!/bin/sh\necho hi\n" +
				"--XX\nContent-Type: application/vnd.kubebake.node+yaml\n\n" + d + "\n--XX--\n")
		}, inPlace: true, where: "the MIME part of type application/vnd.kubebake.node+yaml"},
		{name: "gzipped cloud-config", make: func(t *testing.T, d string) []byte { return gz(gen("cloud-config")(t, d)) }, where: "the user data (encoded)"},
		{name: "butane", make: gen("butane"), where: "the Butane config's storage.files /etc/kubebake/node.yaml"},
		{name: "ignition", make: gen("ignition"), where: "the Ignition config's storage.files /etc/kubebake/node.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep, found, err := userdata.CheckUserData("user-data", tc.make(t, doc), "v1.36.3")
			require.NoError(t, err)
			assert.False(t, rep.IsFatal(), rep.String())
			assert.Equal(t, doc, string(found.Doc))
			assert.Equal(t, tc.where, found.Where)

			bad := tc.make(t, badDoc)
			rep, _, err = userdata.CheckUserData("user-data", bad, "v1.36.3")
			require.NoError(t, err)
			require.Len(t, rep.Errors(), 1, rep.String())
			want := `user-data (the NodeConfig in ` + tc.where + `):3:7: role: unknown role "joinx"`
			if tc.inPlace {
				want = positionIn(t, "user-data", bad) + `: role: unknown role "joinx"`
			}
			assert.True(t, strings.HasPrefix(rep.Errors()[0].String(), want), "%q does not start with %q", rep.Errors()[0].String(), want)
		})
	}
}

// TestCheckUserDataFailsClosed: user data without a NodeConfig, or with a
// broken one, is an error naming the file, never "valid".
func TestCheckUserDataFailsClosed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data, err string
	}{
		{name: "a cloud-config of other files", data: "#cloud-config\nwrite_files:\n- path: /etc/motd\n  content: hi\n", err: "user-data: no NodeConfig in the user data"},
		{name: "a shell script", data: "#!/bin/sh\necho hi\n", err: "user-data: no NodeConfig in the user data"},
		{name: "our file, bad base64", data: "#cloud-config\nwrite_files:\n- path: /etc/kubebake/node.yaml\n  encoding: b64\n  content: '!!!'\n", err: "user-data: "},
		{name: "an Ignition config without the file", data: `{"ignition":{"version":"3.5.0"}}`, err: "user-data: no NodeConfig in the user data"},
		{name: "an Ignition config Ignition rejects", data: `{"ignition":{"version":"9.9.9"}}`, err: "user-data: ignition rejects the config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := userdata.CheckUserData("user-data", []byte(tc.data), "v1.36.3")
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), tc.err), "%q does not start with %q", err, tc.err)
		})
	}
}
