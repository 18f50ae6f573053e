package source_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot/source"
)

const nodeDoc = `apiVersion: kubebake.dev/v1alpha1
kind: NodeConfig
role: join
cluster:
  controlPlaneEndpoint: 10.0.0.10:6443
bootstrap:
  token: abcdef.0123456789abcdef
  caCertHashes: ["sha256:7f1b2a5c3c9d6e4f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"]
`

// otherDoc is a second NodeConfig, to tell which source won.
const otherDoc = `apiVersion: kubebake.dev/v1alpha1
kind: NodeConfig
role: init
`

func gz(t testing.TB, data string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write([]byte(data))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

func b64(data []byte) string { return base64.StdEncoding.EncodeToString(data) }

// wrap76 folds base64 as MIME writers do.
func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}

// cloudConfig writes doc to path with a write_files entry in encoding.
func cloudConfig(path, encoding, content string) string {
	cc := "#cloud-config\npackage_update: true\nruncmd:\n  - [echo, hi]\nwrite_files:\n  - path: /etc/motd\n    content: hello\n"
	cc += "  - path: " + path + "\n    permissions: '0600'\n"
	if encoding != "" {
		cc += "    encoding: " + encoding + "\n"
	}
	return cc + "    content: |\n" + indent(content, "      ")
}

// part is one MIME part; parts nest when Parts is set.
type part struct {
	Type     string
	Encoding string
	Body     string
	Parts    []part
}

// mimeMessage builds multipart user data as cloud-init's make-mime does:
// Content-Type and MIME-Version headers, then the parts.
func mimeMessage(t testing.TB, parts ...part) []byte {
	t.Helper()
	body, boundary := multipartBody(t, parts)
	return []byte("Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\nMIME-Version: 1.0\n\n" + body)
}

func multipartBody(t testing.TB, parts []part) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i, p := range parts {
		h := textproto.MIMEHeader{}
		body := p.Body
		if p.Parts != nil {
			var boundary string
			body, boundary = multipartBody(t, p.Parts)
			h.Set("Content-Type", "multipart/mixed; boundary=\""+boundary+"\"")
		} else if p.Type != "-" { // "-": a part without Content-Type
			h.Set("Content-Type", p.Type+"; charset=\"us-ascii\"")
		}
		h.Set("MIME-Version", "1.0")
		if p.Encoding != "" {
			h.Set("Content-Transfer-Encoding", p.Encoding)
		}
		h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"part-%d\"", i))
		pw, err := w.CreatePart(h)
		require.NoError(t, err)
		_, err = io.WriteString(pw, body)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return buf.String(), w.Boundary()
}

// nested wraps p in n multiparts.
func nested(n int, p part) part {
	for i := 0; i < n; i++ {
		p = part{Parts: []part{p}}
	}
	return p
}

// makeMIME is user data as cloud-init's make-mime writes it (Python's
// email package: LF line ends, ===== boundaries).
const makeMIME = `Content-Type: multipart/mixed; boundary="===============4526018217484404015=="
MIME-Version: 1.0

--===============4526018217484404015==
Content-Type: text/x-shellscript; charset="us-ascii"
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Content-Disposition: attachment; filename="prep.sh"

#!/bin/sh
echo prep

--===============4526018217484404015==
Content-Type: application/vnd.kubebake.node+yaml; charset="us-ascii"
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Content-Disposition: attachment; filename="node.yaml"

` + nodeDoc + `
--===============4526018217484404015==--
`

// nodeConfigHead declares a NodeConfig.
const nodeConfigHead = "apiVersion: kubebake.dev/v1alpha1\nkind: NodeConfig\n"

func TestFromUserData(t *testing.T) {
	t.Parallel()
	const nodeType = source.MediaType
	shell := part{Type: "text/x-shellscript", Body: "#!/bin/sh\necho hi\n"}
	tests := []struct {
		name    string
		data    []byte
		want    string // the NodeConfig found; "" when none
		wantErr string
	}{
		{name: "raw NodeConfig", data: []byte(nodeDoc), want: nodeDoc},
		{name: "raw NodeConfig after blank lines", data: []byte("\n\n  \n" + nodeDoc), want: nodeDoc},
		{name: "gzipped raw NodeConfig", data: gz(t, nodeDoc), want: nodeDoc},
		{name: "cloud-config plain", data: []byte(cloudConfig(source.NodeConfigPath, "", nodeDoc)), want: nodeDoc},
		{name: "cloud-config text/plain", data: []byte(cloudConfig(source.NodeConfigPath, "text/plain", nodeDoc)), want: nodeDoc},
		{name: "cloud-config b64", data: []byte(cloudConfig(source.NodeConfigPath, "b64", b64([]byte(nodeDoc)))), want: nodeDoc},
		{name: "cloud-config base64 folded", data: []byte(cloudConfig(source.NodeConfigPath, "base64", wrap76(b64([]byte(nodeDoc))))), want: nodeDoc},
		{name: "cloud-config gz+b64", data: []byte(cloudConfig(source.NodeConfigPath, "gz+b64", b64(gz(t, nodeDoc)))), want: nodeDoc},
		{name: "cloud-config gzip+base64", data: []byte(cloudConfig(source.NodeConfigPath, "gzip+base64", b64(gz(t, nodeDoc)))), want: nodeDoc},
		{name: "gzipped cloud-config", data: gz(t, cloudConfig(source.NodeConfigPath, "", nodeDoc)), want: nodeDoc},
		{name: "cloud-config writing another path", data: []byte(cloudConfig("/etc/kubebake/other.yaml", "", nodeDoc))},
		{name: "cloud-config bad base64", data: []byte(cloudConfig(source.NodeConfigPath, "b64", "!!!not base64!!!")), wantErr: "base64"},
		{name: "cloud-config gz+b64 not gzip", data: []byte(cloudConfig(source.NodeConfigPath, "gz+b64", b64([]byte{0x1f, 0x8b, 0, 1, 2}))), wantErr: "gzip"},
		{name: "cloud-config unknown encoding", data: []byte(cloudConfig(source.NodeConfigPath, "rot13", nodeDoc)), wantErr: "unknown encoding"},
		{name: "cloud-config not YAML, writing the NodeConfig", data: []byte("#cloud-config\nwrite_files: [\n - path: " + source.NodeConfigPath + "\n"), wantErr: "#cloud-config"},
		{name: "cloud-config not YAML, not ours", data: []byte("#cloud-config\nwrite_files: [\n")},
		{name: "other cloud-config", data: []byte("#cloud-config\npackages: [htop]\nruncmd:\n  - echo NodeConfig\n")},
		{name: "shell script", data: []byte("#!/bin/bash\necho 'kind: NodeConfig'\n")},
		{name: "cloud-config-archive", data: []byte("#cloud-config-archive\n- type: text/x-shellscript\n  content: |\n    #!/bin/sh\n    echo hi\n")},
		{name: "cloud-config-jsonp", data: []byte("#cloud-config-jsonp\n[{\"op\": \"add\", \"path\": \"/runcmd\", \"value\": []}]\n")},
		{name: "empty", data: nil},
		{name: "blank", data: []byte(" \n\t\n")},
		{name: "other YAML", data: []byte("apiVersion: v1\nkind: ConfigMap\n")},

		{name: "make-mime output", data: []byte(makeMIME), want: nodeDoc},
		{name: "MIME with our part", data: mimeMessage(t, shell, part{Type: nodeType, Body: nodeDoc}), want: nodeDoc},
		{name: "MIME with our part base64", data: mimeMessage(t, part{Type: nodeType, Encoding: "base64", Body: wrap76(b64([]byte(nodeDoc)))}), want: nodeDoc},
		{name: "MIME nested multipart", data: mimeMessage(t, shell, part{Parts: []part{shell, {Type: nodeType, Body: nodeDoc}}}), want: nodeDoc},
		{name: "MIME cloud-config writes the file", data: mimeMessage(t, part{Type: "text/cloud-config", Body: cloudConfig(source.NodeConfigPath, "b64", b64([]byte(nodeDoc)))}), want: nodeDoc},
		{name: "MIME cloud-config base64 part", data: mimeMessage(t, part{Type: "text/cloud-config", Encoding: "base64", Body: b64([]byte(cloudConfig(source.NodeConfigPath, "", nodeDoc)))}), want: nodeDoc},
		{name: "MIME our part wins over a cloud-config before it", data: mimeMessage(t,
			part{Type: "text/cloud-config", Body: cloudConfig(source.NodeConfigPath, "", otherDoc)},
			part{Type: nodeType, Body: nodeDoc}), want: nodeDoc},
		{name: "MIME our part wins over a cloud-config after it", data: mimeMessage(t,
			part{Type: nodeType, Body: nodeDoc},
			part{Type: "text/cloud-config", Body: cloudConfig(source.NodeConfigPath, "", otherDoc)}), want: nodeDoc},
		{name: "MIME our nested part wins over a cloud-config before it", data: mimeMessage(t,
			part{Type: "text/cloud-config", Body: cloudConfig(source.NodeConfigPath, "", otherDoc)},
			part{Parts: []part{{Type: nodeType, Body: nodeDoc}}}), want: nodeDoc},
		{name: "MIME first cloud-config wins over a later one", data: mimeMessage(t,
			part{Type: "text/cloud-config", Body: cloudConfig(source.NodeConfigPath, "", nodeDoc)},
			part{Type: "text/cloud-config", Body: cloudConfig(source.NodeConfigPath, "", otherDoc)}), want: nodeDoc},
		{name: "MIME single part, not multipart", data: []byte("Content-Type: " + nodeType + "\nMIME-Version: 1.0\n\n" + nodeDoc), want: nodeDoc},
		{name: "gzipped MIME", data: gz(t, string(mimeMessage(t, part{Type: nodeType, Body: nodeDoc}))), want: nodeDoc},
		{name: "MIME without NodeConfig", data: mimeMessage(t, shell, part{Type: "text/cloud-config", Body: "#cloud-config\npackages: [htop]\n"})},
		{name: "MIME with a raw NodeConfig as text/plain", data: mimeMessage(t, part{Type: "text/plain", Body: nodeDoc})},

		// Ours and broken: a failure. Not ours and odd: cloud-init's to judge.
		{name: "corrupt MIME with our part: no closing boundary", data: []byte("Content-Type: multipart/mixed; boundary=XYZ\nMIME-Version: 1.0\n\n--XYZ\nContent-Type: " + nodeType + "\n\ncut short"), wantErr: "user data"},
		{name: "corrupt MIME without ours: no closing boundary", data: []byte("Content-Type: multipart/mixed; boundary=XYZ\nMIME-Version: 1.0\n\n--XYZ\nContent-Type: text/plain\n\ncut short")},
		{name: "corrupt MIME with our part: bad Content-Type", data: []byte("Content-Type: multipart/mixed; boundary\nMIME-Version: 1.0\n\n--x\nContent-Type: " + nodeType + "\n\n--x--\n"), wantErr: "Content-Type"},
		{name: "corrupt MIME without ours: bad Content-Type", data: []byte("Content-Type: multipart/mixed; boundary\nMIME-Version: 1.0\n\n--x--\n")},
		{name: "corrupt MIME: part with bad Content-Type, not ours", data: mimeMessage(t, part{Type: "text/;;", Body: "x"})},
		{name: "corrupt MIME: part with bad Content-Type beside our part", data: mimeMessage(t, part{Type: "text/;;", Body: "x"}, part{Type: nodeType, Body: nodeDoc}), want: nodeDoc},
		{name: "corrupt MIME: part with bad parameters of our type", data: mimeMessage(t, part{Type: nodeType + "; charset", Body: nodeDoc}), wantErr: "Content-Type"},
		{name: "MIME: part without Content-Type beside our part", data: mimeMessage(t, part{Type: "-", Body: "x"}, part{Type: nodeType, Body: nodeDoc}), want: nodeDoc},
		{name: "MIME: bad base64 in a part not ours", data: mimeMessage(t, part{Type: "text/x-shellscript", Encoding: "base64", Body: "@@@@"}, part{Type: nodeType, Body: nodeDoc}), want: nodeDoc},
		{name: "MIME: bad base64 in a cloud-config not ours", data: mimeMessage(t, part{Type: "text/cloud-config", Encoding: "base64", Body: "@@@@"})},
		{name: "corrupt MIME: bad base64 in our part", data: mimeMessage(t, part{Type: nodeType, Encoding: "base64", Body: "@@@@"}), wantErr: "base64"},
		{name: "corrupt MIME with our part: bad headers", data: []byte("MIME-Version: 1.0\nno colon here\n\nContent-Type: " + nodeType + "\n"), wantErr: "MIME"},
		{name: "corrupt MIME without ours: bad headers", data: []byte("MIME-Version: 1.0\nno colon here\n\nbody")},
		// A document that declares itself a NodeConfig is one, parsed or not:
		// decoding it fails the node with the reason and position.
		{name: "NodeConfig with a tab", data: []byte(nodeConfigHead + "role: join\n\tcluster: {}\n"), want: nodeConfigHead + "role: join\n\tcluster: {}\n"},
		{name: "NodeConfig badly indented", data: []byte(nodeConfigHead + "role: join\ncluster:\n  endpoint: a\n endpoint: b\n"), want: nodeConfigHead + "role: join\ncluster:\n  endpoint: a\n endpoint: b\n"},
		{name: "NodeConfig with invalid UTF-8", data: []byte(nodeConfigHead + "role: \xff\xfe\n"), want: nodeConfigHead + "role: \xff\xfe\n"},
		{name: "corrupt gzip", data: []byte{0x1f, 0x8b, 8, 0, 0, 0}, wantErr: "gzip"},
		{name: "MIME nested four deep", data: mimeMessage(t, nested(3, part{Type: nodeType, Body: nodeDoc})), want: nodeDoc},
		{name: "MIME nested too deep", data: mimeMessage(t, nested(10, part{Type: nodeType, Body: nodeDoc})), wantErr: "nested too deep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc, ok, err := source.FromUserData(tc.data)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.False(t, ok)
				return
			}
			require.NoError(t, err)
			if tc.want == "" {
				assert.False(t, ok, "found %q", doc)
				assert.Nil(t, doc)
				return
			}
			require.True(t, ok)
			assert.Equal(t, strings.TrimSpace(tc.want), strings.TrimSpace(strings.ReplaceAll(string(doc), "\r\n", "\n")))
		})
	}
}

// TestGzipBomb: user data that decompresses past the limit is an error, not
// silently cut.
func TestGzipBomb(t *testing.T) {
	t.Parallel()
	_, _, err := source.FromUserData(gz(t, strings.Repeat("#", 16<<20+1)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "more than the limit of 16777216 bytes once decompressed")
}
