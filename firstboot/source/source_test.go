package source_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
		} else {
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
		{name: "cloud-config not YAML", data: []byte("#cloud-config\nwrite_files: [\n"), wantErr: "#cloud-config"},
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

		{name: "corrupt MIME: no closing boundary", data: []byte("Content-Type: multipart/mixed; boundary=XYZ\nMIME-Version: 1.0\n\n--XYZ\nContent-Type: text/plain\n\ncut short"), wantErr: "user data"},
		{name: "corrupt MIME: bad Content-Type", data: []byte("Content-Type: multipart/mixed; boundary\nMIME-Version: 1.0\n\n--x--\n"), wantErr: "Content-Type"},
		{name: "corrupt MIME: part with bad Content-Type", data: mimeMessage(t, part{Type: "text/;;", Body: "x"}), wantErr: "Content-Type"},
		{name: "corrupt MIME: bad base64 in our part", data: mimeMessage(t, part{Type: nodeType, Encoding: "base64", Body: "@@@@"}), wantErr: "base64"},
		{name: "corrupt MIME: bad headers", data: []byte("MIME-Version: 1.0\nno colon here\n\nbody"), wantErr: "MIME"},
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

// root makes a temp root with files (path relative to the root -> content).
func root(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
	}
	return dir
}

// imdsServer serves IMDSv2: PUT /latest/api/token then GET
// /latest/user-data with that token. userData nil means 404.
type imdsServer struct {
	mu       sync.Mutex
	requests []string
	userData []byte
	// fail5xx answers 500 to that many user-data requests first.
	fail5xx int
}

const imdsToken = "AQAEAFakeSessionToken=="

func (s *imdsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	switch {
	case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
		if r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
			http.Error(w, "missing TTL", http.StatusBadRequest)
			return
		}
		io.WriteString(w, imdsToken)
	case r.Method == http.MethodGet && r.URL.Path == "/latest/user-data":
		if r.Header.Get("X-aws-ec2-metadata-token") != imdsToken {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if s.fail5xx > 0 {
			s.fail5xx--
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		}
		if s.userData == nil {
			http.NotFound(w, r)
			return
		}
		w.Write(s.userData)
	default:
		http.Error(w, "no", http.StatusMethodNotAllowed)
	}
}

func (s *imdsServer) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.requests...)
}

// sleeps records the waits of an IMDS client without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func TestFinderFind(t *testing.T) {
	t.Parallel()
	explicit := filepath.Join(t.TempDir(), "explicit.yaml")
	require.NoError(t, os.WriteFile(explicit, []byte("explicit"), 0o600))
	const (
		instance   = "/var/lib/cloud/instance/user-data.txt"
		nocloud    = "/var/lib/cloud/seed/nocloud/user-data"
		nocloudNet = "/var/lib/cloud/seed/nocloud-net/user-data"
	)
	all := map[string]string{
		instance:              "#cloud-config\n" + "write_files:\n  - path: /etc/kubebake/node.yaml\n    content: |\n" + indent(nodeDoc, "      "),
		nocloud:               otherDoc,
		nocloudNet:            otherDoc,
		source.NodeConfigPath: otherDoc,
	}
	without := func(keys ...string) map[string]string {
		m := map[string]string{}
		for k, v := range all {
			m[k] = v
		}
		for _, k := range keys {
			delete(m, k)
		}
		return m
	}
	tests := []struct {
		name       string
		files      map[string]string
		configFile string
		imds       []byte // nil: IMDS not used; "-" : IMDS has no user data
		wantSource string
		wantDoc    string
		wantErr    error
	}{
		{name: "explicit --config wins", files: all, configFile: explicit, imds: []byte(nodeDoc), wantSource: "file " + explicit, wantDoc: "explicit"},
		{name: "cloud-init instance user data", files: all, imds: []byte(otherDoc), wantSource: "cloud-init user data " + instance, wantDoc: nodeDoc},
		{name: "NoCloud seed", files: without(instance), imds: []byte(nodeDoc), wantSource: "cloud-init user data " + nocloud, wantDoc: otherDoc},
		{name: "NoCloud-net seed", files: without(instance, nocloud), imds: []byte(nodeDoc), wantSource: "cloud-init user data " + nocloudNet, wantDoc: otherDoc},
		{name: "user data without NodeConfig falls through", files: map[string]string{instance: "#!/bin/sh\necho hi\n", nocloud: nodeDoc}, wantSource: "cloud-init user data " + nocloud, wantDoc: nodeDoc},
		{name: "IMDS", files: without(instance, nocloud, nocloudNet), imds: []byte(nodeDoc), wantSource: "EC2 IMDSv2 user data", wantDoc: nodeDoc},
		{name: "IMDS gzipped MIME", files: without(instance, nocloud, nocloudNet), imds: gz(t, string(mimeMessage(t, part{Type: source.MediaType, Body: nodeDoc}))), wantSource: "EC2 IMDSv2 user data", wantDoc: nodeDoc},
		{name: "IMDS without user data, Ignition file", files: without(instance, nocloud, nocloudNet), imds: []byte("-"), wantSource: "file " + source.NodeConfigPath + " (written by Ignition or cloud-init)", wantDoc: otherDoc},
		{name: "IMDS user data without NodeConfig, Ignition file", files: without(instance, nocloud, nocloudNet), imds: []byte("#!/bin/sh\n"), wantSource: "file " + source.NodeConfigPath + " (written by Ignition or cloud-init)", wantDoc: otherDoc},
		{name: "Ignition file last", files: map[string]string{source.NodeConfigPath: nodeDoc}, wantSource: "file " + source.NodeConfigPath + " (written by Ignition or cloud-init)", wantDoc: nodeDoc},
		{name: "nothing", files: nil, wantErr: source.ErrNotFound},
		{name: "nothing, IMDS has no user data", files: nil, imds: []byte("-"), wantErr: source.ErrNotFound},
		{name: "missing --config", files: all, configFile: filepath.Join(t.TempDir(), "missing.yaml"), wantErr: os.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := source.Finder{Root: root(t, tc.files), ConfigFile: tc.configFile}
			if tc.imds != nil {
				srv := &imdsServer{userData: tc.imds}
				if string(tc.imds) == "-" {
					srv.userData = nil
				}
				ts := httptest.NewServer(srv)
				t.Cleanup(ts.Close)
				f.UseIMDS = true
				f.IMDS = source.IMDS{Endpoint: ts.URL, Sleep: (&sleeps{}).sleep}
			}
			found, err := f.Find(context.Background())
			if tc.wantErr != nil {
				require.Error(t, err)
				assert.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantSource, found.Source)
			assert.Equal(t, strings.TrimSpace(tc.wantDoc), strings.TrimSpace(string(found.Doc)))
		})
	}
}

func TestFinderErrors(t *testing.T) {
	t.Parallel()
	t.Run("corrupt user data is an error", func(t *testing.T) {
		t.Parallel()
		f := source.Finder{Root: root(t, map[string]string{
			"/var/lib/cloud/instance/user-data.txt": "Content-Type: multipart/mixed; boundary=XYZ\n\n--XYZ\nContent-Type: text/plain\n\ncut",
			source.NodeConfigPath:                   nodeDoc,
		})}
		_, err := f.Find(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "/var/lib/cloud/instance/user-data.txt")
	})
	t.Run("IMDS down is an error", func(t *testing.T) {
		t.Parallel()
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}))
		t.Cleanup(ts.Close)
		f := source.Finder{Root: root(t, nil), UseIMDS: true, IMDS: source.IMDS{Endpoint: ts.URL, Attempts: 2, Sleep: (&sleeps{}).sleep}}
		_, err := f.Find(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "IMDSv2")
	})
	t.Run("custom user-data files", func(t *testing.T) {
		t.Parallel()
		f := source.Finder{Root: root(t, map[string]string{"/seed/ud": nodeDoc}), UserDataFiles: []string{"/missing", "/seed/ud"}}
		found, err := f.Find(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "cloud-init user data /seed/ud", found.Source)
	})
}

func TestFinderTried(t *testing.T) {
	t.Parallel()
	f := source.Finder{ConfigFile: "/x.yaml", UseIMDS: true}
	assert.Equal(t, append(append([]string{"/x.yaml"}, source.DefaultUserDataFiles()...), "EC2 IMDSv2", source.NodeConfigPath), f.Tried())
	assert.Equal(t, append(source.DefaultUserDataFiles(), source.NodeConfigPath), source.Finder{}.Tried())
}

func TestDropIns(t *testing.T) {
	t.Parallel()
	dir := root(t, map[string]string{
		"/etc/kubebake/node.d/20-b.yaml":     "b",
		"/etc/kubebake/node.d/10-a.yml":      "a",
		"/etc/kubebake/node.d/30-c.yaml":     "c",
		"/etc/kubebake/node.d/00-z.json":     "no",
		"/etc/kubebake/node.d/README":        "no",
		"/etc/kubebake/node.d/15.yaml.bak":   "no",
		"/etc/kubebake/node.d/sub.yaml/x":    "no",
		"/etc/kubebake/node.d/.05-hid.yaml~": "no",
	})
	got, err := source.DropIns(dir, "/etc/kubebake/node.d")
	require.NoError(t, err)
	assert.Equal(t, []source.Found{
		{Source: "/etc/kubebake/node.d/10-a.yml", Doc: []byte("a")},
		{Source: "/etc/kubebake/node.d/20-b.yaml", Doc: []byte("b")},
		{Source: "/etc/kubebake/node.d/30-c.yaml", Doc: []byte("c")},
	}, got)

	got, err = source.DropIns(t.TempDir(), "/etc/kubebake/node.d")
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestIMDSUserData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		userData   []byte
		fail5xx    int
		attempts   int
		wantData   string
		wantOK     bool
		wantErr    string
		wantSleeps []time.Duration
		wantReqs   []string
	}{
		{
			name: "user data", userData: []byte(nodeDoc), wantData: nodeDoc, wantOK: true,
			wantReqs: []string{"PUT /latest/api/token", "GET /latest/user-data"},
		},
		{
			name: "no user data is 404", userData: nil, wantOK: false,
			wantReqs: []string{"PUT /latest/api/token", "GET /latest/user-data"},
		},
		{
			name: "500s then success", userData: []byte(nodeDoc), fail5xx: 2, wantData: nodeDoc, wantOK: true,
			wantSleeps: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond},
			wantReqs:   []string{"PUT /latest/api/token", "GET /latest/user-data", "GET /latest/user-data", "GET /latest/user-data"},
		},
		{
			name: "every attempt fails", userData: []byte(nodeDoc), fail5xx: 100, attempts: 3, wantErr: "3 attempts: HTTP 500",
			wantSleeps: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond},
			wantReqs:   []string{"PUT /latest/api/token", "GET /latest/user-data", "GET /latest/user-data", "GET /latest/user-data"},
		},
		{
			name: "default five attempts", userData: []byte(nodeDoc), fail5xx: 100, wantErr: "5 attempts",
			wantSleeps: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond},
			wantReqs: []string{"PUT /latest/api/token", "GET /latest/user-data", "GET /latest/user-data", "GET /latest/user-data",
				"GET /latest/user-data", "GET /latest/user-data"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := &imdsServer{userData: tc.userData, fail5xx: tc.fail5xx}
			ts := httptest.NewServer(srv)
			t.Cleanup(ts.Close)
			sl := &sleeps{}
			m := source.IMDS{Endpoint: ts.URL, Attempts: tc.attempts, Backoff: 100 * time.Millisecond, Sleep: sl.sleep}
			data, ok, err := m.UserData(context.Background())
			assert.Equal(t, tc.wantReqs, srv.got())
			assert.Equal(t, tc.wantSleeps, sl.d)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.wantData, string(data))
		})
	}
}

// TestIMDSServerRejects proves the fake server is strict: without the
// session token the user data is refused.
func TestIMDSServerRejects(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(&imdsServer{userData: []byte(nodeDoc)})
	t.Cleanup(ts.Close)
	resp, err := http.Get(ts.URL + "/latest/user-data")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	req, err := http.NewRequest(http.MethodPut, ts.URL+"/latest/api/token", nil)
	require.NoError(t, err)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "a token PUT needs the TTL header")
}

func TestIMDSErrors(t *testing.T) {
	t.Parallel()
	t.Run("token refused", func(t *testing.T) {
		t.Parallel()
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "forbidden", http.StatusForbidden)
		}))
		t.Cleanup(ts.Close)
		_, _, err := source.IMDS{Endpoint: ts.URL, Sleep: (&sleeps{}).sleep}.UserData(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "IMDSv2 token: HTTP 403")
	})
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		ts := httptest.NewServer(http.NotFoundHandler())
		ts.Close()
		sl := &sleeps{}
		_, _, err := source.IMDS{Endpoint: ts.URL, Attempts: 2, Sleep: sl.sleep}.UserData(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "IMDSv2 token: 2 attempts")
		assert.Len(t, sl.d, 1)
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		t.Parallel()
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "busy", http.StatusInternalServerError)
		}))
		t.Cleanup(ts.Close)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _, err := source.IMDS{Endpoint: ts.URL, Backoff: time.Hour}.UserData(ctx)
		require.Error(t, err)
		assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	})
}

func TestOnEC2(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  bool
	}{
		{name: "Nitro sys_vendor", files: map[string]string{"/sys/class/dmi/id/sys_vendor": "Amazon EC2\n"}, want: true},
		{name: "board_vendor", files: map[string]string{"/sys/class/dmi/id/sys_vendor": "Xen\n", "/sys/class/dmi/id/board_vendor": "Amazon EC2\n"}, want: true},
		{name: "Xen hypervisor uuid", files: map[string]string{"/sys/hypervisor/uuid": "ec2e1916-9099-7caf-fd21-012345abcdef\n"}, want: true},
		{name: "Xen hypervisor uuid upper-case", files: map[string]string{"/sys/hypervisor/uuid": "EC2E1916-9099-7CAF-FD21-012345ABCDEF\n"}, want: true},
		{name: "QEMU", files: map[string]string{"/sys/class/dmi/id/sys_vendor": "QEMU\n", "/sys/hypervisor/uuid": "4f3c0000-0000-0000-0000-000000000000\n"}},
		{name: "no DMI", files: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, source.OnEC2(root(t, tc.files)))
		})
	}
}
