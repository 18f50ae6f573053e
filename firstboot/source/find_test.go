package source_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot/source"
)

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
		// cloud-init stored this instance's user data: a seed is not read,
		// even when the instance's user data holds no NodeConfig.
		{name: "instance user data without NodeConfig: a stale seed is not read", files: map[string]string{instance: "#cloud-config\npackages: [htop]\n", nocloud: nodeDoc}, wantErr: source.ErrNotFound},
		{name: "cloud-init ran without user data: a stale seed is not read", files: map[string]string{"/var/lib/cloud/instance/boot-finished": "", nocloud: nodeDoc}, wantErr: source.ErrNotFound},
		{name: "instance user data without NodeConfig: the Ignition file", files: map[string]string{instance: "#!/bin/sh\necho hi\n", nocloud: otherDoc, source.NodeConfigPath: nodeDoc}, wantSource: "file " + source.NodeConfigPath + " (written by Ignition or cloud-init)", wantDoc: nodeDoc},
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
	t.Run("corrupt user data with our part is an error", func(t *testing.T) {
		t.Parallel()
		f := source.Finder{Root: root(t, map[string]string{
			"/var/lib/cloud/instance/user-data.txt": "Content-Type: multipart/mixed; boundary=XYZ\n\n--XYZ\nContent-Type: " + source.MediaType + "\n\ncut",
			source.NodeConfigPath:                   nodeDoc,
		})}
		_, err := f.Find(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "/var/lib/cloud/instance/user-data.txt")
	})
	t.Run("corrupt user data not ours is cloud-init's", func(t *testing.T) {
		t.Parallel()
		f := source.Finder{Root: root(t, map[string]string{
			"/var/lib/cloud/instance/user-data.txt": "Content-Type: multipart/mixed; boundary=XYZ\n\n--XYZ\nContent-Type: text/plain\n\ncut",
		})}
		_, err := f.Find(context.Background())
		assert.ErrorIs(t, err, source.ErrNotFound)
	})
	t.Run("user data that is not a regular file", func(t *testing.T) {
		t.Parallel()
		r := root(t, nil)
		p := filepath.Join(r, "/var/lib/cloud/seed/nocloud/user-data")
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, syscall.Mkfifo(p, 0o600))
		_, err := source.Finder{Root: r}.Find(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "/var/lib/cloud/seed/nocloud/user-data: "+p+" is not a regular file")
	})
	t.Run("user data past the size limit", func(t *testing.T) {
		t.Parallel()
		r := root(t, nil)
		p := filepath.Join(r, "/var/lib/cloud/instance/user-data.txt")
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, nil, 0o600))
		require.NoError(t, os.Truncate(p, 16<<20+1))
		_, err := source.Finder{Root: r}.Find(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "holds 16777217 bytes, more than the limit of 16777216")
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
