package userdata_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	ignition "github.com/coreos/ignition/v2/config/v3_5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot/source"
	"github.com/kubebake/kubebake/internal/testutil"
	"github.com/kubebake/kubebake/internal/userdata"
)

const doc = `apiVersion: kubebake.dev/v1alpha1
kind: NodeConfig
role: join
cluster:
  controlPlaneEndpoint: 10.0.0.10:6443
bootstrap:
  token: abcdef.0123456789abcdef
  caCertHashes: ["sha256:7f1b2a5c3c9d6e4f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"]
node:
  labels: {tier: "edge"}
`

// TestRoundTrip proves that what userdata generates is what firstboot
// finds: the document comes back byte for byte through the same code the
// node runs.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"cloud-config", "mime"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			out, err := userdata.Generate([]byte(doc), format)
			require.NoError(t, err)
			got, ok, err := source.FromUserData(out)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, doc, string(got))

			// And through the finder, as cloud-init stores it.
			root := t.TempDir()
			p := filepath.Join(root, "var/lib/cloud/instance/user-data.txt")
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, out, 0o600))
			found, err := source.Finder{Root: root}.Find(context.Background())
			require.NoError(t, err)
			assert.Equal(t, doc, string(found.Doc))
		})
	}
}

func TestIgnition(t *testing.T) {
	t.Parallel()
	out, err := userdata.Generate([]byte(doc), "ignition")
	require.NoError(t, err)
	cfg, rep, err := ignition.Parse(out)
	require.NoError(t, err)
	require.False(t, rep.IsFatal(), rep.String())
	require.Len(t, cfg.Storage.Files, 1)
	f := cfg.Storage.Files[0]
	assert.Equal(t, source.NodeConfigPath, f.Path)
	require.NotNil(t, f.Mode)
	assert.Equal(t, 0o600, *f.Mode)
	require.NotNil(t, f.Contents.Source)
	data := *f.Contents.Source
	require.True(t, strings.HasPrefix(data, "data:"), data)
	_, payload, _ := strings.Cut(data, ",")
	var content []byte
	if strings.Contains(data[:strings.Index(data, ",")], ";base64") {
		content, err = base64.StdEncoding.DecodeString(payload)
		require.NoError(t, err)
	} else {
		content = []byte(payload)
	}
	if f.Contents.Compression != nil && *f.Contents.Compression == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(content))
		require.NoError(t, err)
		content, err = io.ReadAll(zr)
		require.NoError(t, err)
	}
	assert.Equal(t, doc, string(content))
}

// TestCloudInitSchema has Debian's cloud-init validate the #cloud-config.
func TestCloudInitSchema(t *testing.T) {
	bin := testutil.Tool(t, "cloud-init")
	out, err := userdata.Generate([]byte(doc), "cloud-config")
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "user-data")
	require.NoError(t, os.WriteFile(f, out, 0o600))
	res, err := exec.Command(bin, "schema", "--config-file", f).CombinedOutput()
	require.NoError(t, err, "cloud-init schema rejects it:\n%s", res)
	assert.Contains(t, string(res), "Valid cloud-config")

	// The check can fail: a write_files entry with a bad key is rejected.
	bad := strings.Replace(string(out), "permissions:", "permission:", 1)
	require.NoError(t, os.WriteFile(f, []byte(bad), 0o600))
	res, err = exec.Command(bin, "schema", "--config-file", f).CombinedOutput()
	require.Error(t, err, "cloud-init accepted a broken cloud-config:\n%s", res)
}

func TestCheck(t *testing.T) {
	t.Parallel()
	require.NoError(t, userdata.Check("node.yaml", []byte(doc), "v1.36.3"))
	err := userdata.Check("node.yaml", []byte(strings.Replace(doc, "role: join", "role: worker", 1)), "v1.36.3")
	require.ErrorContains(t, err, "role")
	err = userdata.Check("node.yaml", []byte(doc+"bogus: 1\n"), "v1.36.3")
	require.ErrorContains(t, err, "bogus")
	_, err = userdata.Generate([]byte(doc), "xml")
	require.ErrorContains(t, err, "unknown format")
}

// TestMIMEWithExtraParts: a NodeConfig with a script of the user's own is
// still found by firstboot, and the script part arrives whole for
// cloud-init.
func TestMIMEWithExtraParts(t *testing.T) {
	t.Parallel()
	script := "#!/bin/bash\necho hello >/dev/ttyS1\n"
	out, err := userdata.MIME([]byte(doc), userdata.Part{ContentType: `text/x-shellscript; charset="utf-8"`, Filename: "report.sh", Content: []byte(script)})
	require.NoError(t, err)
	got, ok, err := source.FromUserData(out)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, doc, string(got))

	msg, err := mail.ReadMessage(bytes.NewReader(out))
	require.NoError(t, err)
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	r := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	var last []byte
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		types = append(types, p.Header.Get("Content-Type"))
		last, err = io.ReadAll(p)
		require.NoError(t, err)
	}
	assert.Equal(t, []string{source.MediaType + `; charset="utf-8"`, `text/x-shellscript; charset="utf-8"`}, types)
	assert.Equal(t, script, string(last))
}

// TestCheckReportPositions: NodeConfig problems carry FILE:LINE:COL and
// their field path, as recipe problems do.
func TestCheckReportPositions(t *testing.T) {
	t.Parallel()
	const head = "apiVersion: kubebake.dev/v1alpha1\nkind: NodeConfig\n"
	tests := []struct {
		name, doc string
		want      []string
	}{
		{
			name: "field errors",
			doc:  head + "role: joinx\nbootstrap:\n  token: abc\n  unsafeSkipCAVerification: true\ncluster:\n  controlPlaneEndpoint: 10.0.0.1:6443\n",
			want: []string{
				`node.yaml:3:7: role: unknown role "joinx" (want init, join or control-plane)`,
				`node.yaml:5:10: bootstrap.token: is not a bootstrap token of the form [a-z0-9]{6}.[a-z0-9]{16}`,
			},
		},
		{name: "unknown field", doc: head + "role: join\ncluster:\n  endpoint: x\n", want: []string{`node.yaml:5:3: unknown field "endpoint"`}},
		{name: "syntax error", doc: head + "role: join\n\tcluster: {}\n", want: []string{"node.yaml:4:1: "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep := userdata.CheckReport("node.yaml", []byte(tc.doc), "v1.36.3")
			var got []string
			for _, e := range rep.Errors() {
				got = append(got, e.String())
			}
			require.Len(t, got, len(tc.want), "%v", got)
			for i := range tc.want {
				assert.True(t, strings.HasPrefix(got[i], tc.want[i]), "%q does not start with %q", got[i], tc.want[i])
			}
		})
	}
}
