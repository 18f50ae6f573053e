package nocloud_test

// The seed is read back three ways: with go-diskfs, with genisoimage's
// isoinfo (Rock Ridge and Joliet trees), and with cloud-init's own NoCloud
// data source (validators_test.go).

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/internal/nocloud"
)

const userData = "#cloud-config\nhostname: node-1\nruncmd:\n  - [sh, -c, 'echo héllo > /run/kubebake']\n"

const networkConfig = `version: 2
ethernets:
  id0:
    match:
      macaddress: "52:54:00:12:34:56"
    addresses: [10.0.0.2/24]
    routes:
      - to: default
        via: 10.0.0.1
`

const vendorData = "#cloud-config\npackage_update: false\n"

// instanceIDPattern matches a generated instance-id.
var instanceIDPattern = regexp.MustCompile(`^iid-[a-z2-7]{26}$`)

// seedCase is a seed and the files it must become.
type seedCase struct {
	name string
	seed nocloud.Seed
	// files are the expected files; a nil "meta-data" means generated.
	files map[string][]byte
}

func seedCases() []seedCase {
	big := make([]byte, 100_003) // binary (e.g. gzip) user-data over many blocks, odd size
	rnd := rand.New(rand.NewChaCha8([32]byte{1}))
	for i := range big {
		big[i] = byte(rnd.Uint32())
	}
	block := []byte("#cloud-config\n" + strings.Repeat("#", 2048-15) + "\n")
	md := nocloud.DefaultMetaData("iid-node-1", "node-1")
	return []seedCase{
		{
			name:  "user-data and meta-data",
			seed:  nocloud.Seed{UserData: []byte(userData), MetaData: md},
			files: map[string][]byte{"user-data": []byte(userData), "meta-data": md},
		},
		{
			name: "every file",
			seed: nocloud.Seed{UserData: []byte(userData), MetaData: md, NetworkConfig: []byte(networkConfig), VendorData: []byte(vendorData)},
			files: map[string][]byte{"user-data": []byte(userData), "meta-data": md,
				"network-config": []byte(networkConfig), "vendor-data": []byte(vendorData)},
		},
		{
			name:  "generated meta-data",
			seed:  nocloud.Seed{UserData: []byte(userData)},
			files: map[string][]byte{"user-data": []byte(userData), "meta-data": nil},
		},
		{
			name:  "empty user-data is still written",
			seed:  nocloud.Seed{MetaData: md, NetworkConfig: []byte{}, VendorData: nil},
			files: map[string][]byte{"user-data": {}, "meta-data": md},
		},
		{
			name:  "user-data of exactly one block",
			seed:  nocloud.Seed{UserData: block, MetaData: md},
			files: map[string][]byte{"user-data": block, "meta-data": md},
		},
		{
			name:  "large binary user-data",
			seed:  nocloud.Seed{UserData: big, MetaData: md, VendorData: []byte(vendorData)},
			files: map[string][]byte{"user-data": big, "meta-data": md, "vendor-data": []byte(vendorData)},
		},
	}
}

// want returns the expected files, with generated meta-data taken from got
// after checking its form.
func (c seedCase) want(t *testing.T, got map[string][]byte) map[string][]byte {
	t.Helper()
	want := map[string][]byte{}
	for name, data := range c.files {
		want[name] = data
	}
	if c.files["meta-data"] == nil {
		id := metaDataInstanceID(t, got["meta-data"])
		assert.Equal(t, "instance-id: "+id+"\n", string(got["meta-data"]))
		want["meta-data"] = got["meta-data"]
	}
	return want
}

func TestDefaultMetaData(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		instanceID string
		hostname   string
		want       string
	}{
		{name: "instance-id and hostname", instanceID: "iid-node-1", hostname: "node-1",
			want: "instance-id: iid-node-1\nlocal-hostname: node-1\n"},
		{name: "no hostname leaves local-hostname out", instanceID: "iid-node-1",
			want: "instance-id: iid-node-1\n"},
		{name: "YAML-special values are quoted", instanceID: "a: b", hostname: "#x",
			want: "instance-id: 'a: b'\nlocal-hostname: '#x'\n"},
		{name: "number-like values stay strings", instanceID: "0123", hostname: "true",
			want: "instance-id: \"0123\"\nlocal-hostname: \"true\"\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := nocloud.DefaultMetaData(tc.instanceID, tc.hostname)
			assert.Equal(t, tc.want, string(got))
			var md map[string]string
			require.NoError(t, yaml.Unmarshal(got, &md))
			assert.Equal(t, tc.instanceID, md["instance-id"])
			assert.Equal(t, tc.hostname, md["local-hostname"])
		})
	}
	t.Run("empty instance-id is generated and unique", func(t *testing.T) {
		t.Parallel()
		a := metaDataInstanceID(t, nocloud.DefaultMetaData("", "node-1"))
		b := metaDataInstanceID(t, nocloud.DefaultMetaData("", "node-1"))
		assert.NotEqual(t, a, b)
	})
}

func TestWriteSeed(t *testing.T) {
	t.Parallel()
	for _, tc := range seedCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			iso := filepath.Join(t.TempDir(), "seed.iso")
			require.NoError(t, nocloud.WriteSeed(iso, tc.seed))

			label, got := readISO(t, iso)
			assert.Equal(t, "cidata", label)
			want := tc.want(t, got)
			assertFiles(t, want, got)

			fi, err := os.Stat(iso)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			assert.Zero(t, fi.Size()%2048, "size %d is not whole 2048-byte blocks", fi.Size())
			assertOnlyEntries(t, filepath.Dir(iso), "seed.iso")

			t.Run("isoinfo", func(t *testing.T) { checkIsoinfo(t, iso, want, fi.Size()) })
		})
	}
}

func TestWriteSeedGeneratesInstanceIDPerCall(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var ids []string
	for _, name := range []string{"a.iso", "b.iso"} {
		p := filepath.Join(dir, name)
		require.NoError(t, nocloud.WriteSeed(p, nocloud.Seed{UserData: []byte(userData)}))
		_, files := readISO(t, p)
		ids = append(ids, metaDataInstanceID(t, files["meta-data"]))
	}
	assert.NotEqual(t, ids[0], ids[1])
}

func TestWriteSeedReplacesWhole(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	iso := filepath.Join(dir, "seed.iso")
	old := bytes.Repeat([]byte{0xff}, 1<<20)
	require.NoError(t, os.WriteFile(iso, old, 0o644))
	held, err := os.Open(iso) // a reader of the old seed, e.g. a running VM
	require.NoError(t, err)
	defer held.Close()

	md := nocloud.DefaultMetaData("iid-new", "")
	require.NoError(t, nocloud.WriteSeed(iso, nocloud.Seed{UserData: []byte(userData), MetaData: md}))

	label, got := readISO(t, iso)
	assert.Equal(t, "cidata", label)
	assertFiles(t, map[string][]byte{"user-data": []byte(userData), "meta-data": md}, got)
	fresh := filepath.Join(t.TempDir(), "fresh.iso")
	require.NoError(t, nocloud.WriteSeed(fresh, nocloud.Seed{UserData: []byte(userData), MetaData: md}))
	assert.Equal(t, fileSize(t, fresh), fileSize(t, iso), "nothing of the old, larger file may remain")
	assertOnlyEntries(t, dir, "seed.iso")

	stillOld := make([]byte, len(old))
	_, err = held.ReadAt(stillOld, 0)
	require.NoError(t, err)
	assert.Equal(t, old, stillOld, "the old file was replaced by rename, not rewritten in place")
}

func TestWriteSeedErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the path to write
		err   []string
	}{
		{
			name:  "directory does not exist",
			setup: func(t *testing.T, dir string) string { return filepath.Join(dir, "missing", "seed.iso") },
			err:   []string{"no such file or directory"},
		},
		{
			name: "path is a directory",
			setup: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, "seed.iso")
				require.NoError(t, os.MkdirAll(filepath.Join(p, "keep"), 0o755))
				return p
			},
			err: []string{"rename", "file exists"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			p := tc.setup(t, dir)
			before := entries(t, dir)
			err := nocloud.WriteSeed(p, nocloud.Seed{UserData: []byte(userData)})
			require.Error(t, err)
			t.Logf("error: %v", err)
			assert.Contains(t, err.Error(), "write seed "+p+": ")
			for _, s := range tc.err {
				assert.Contains(t, err.Error(), s)
			}
			assert.Equal(t, before, entries(t, dir), "a failed write leaves no temporary file")
		})
	}
}

// TestWriteSeedCloudInit hands the seed to cloud-init (Debian's package, its
// own Python code). The ISO is attached to a read-only loop device, which
// cloud-init's device discovery (util.find_devs_with, i.e. blkid) must find by
// LABEL=cidata. Then DataSourceNoCloud._get_data reads it twice:
//   - from the loop device mounted read-only by the kernel, through NoCloud's
//     label-device path (mount_cb, pathprefix2dict with NoCloud's required
//     and optional files, _merge_new_seed); skipped when the kernel cannot
//     mount iso9660;
//   - from its seed directory, holding the files isoinfo extracted from the
//     Rock Ridge tree (pathprefix2dict, _merge_new_seed).
func TestWriteSeedCloudInit(t *testing.T) {
	requireCloudInit(t)
	isoinfo := requireTool(t, "isoinfo", "genisoimage")
	for _, tc := range seedCases() {
		t.Run(tc.name, func(t *testing.T) {
			iso := filepath.Join(t.TempDir(), "seed.iso")
			require.NoError(t, nocloud.WriteSeed(iso, tc.seed))
			_, files := readISO(t, iso)
			want := tc.want(t, files)

			t.Run("found by label", func(t *testing.T) {
				dev := attachLoop(t, iso)
				var devs []string
				runCloudInit(t, &devs, "label", dev)
				assert.Contains(t, devs, dev, "cloud-init does not find the device by LABEL=cidata")
			})
			t.Run("mounted device", func(t *testing.T) {
				dev := attachLoop(t, iso)
				mountReadOnly(t, dev)
				var got cloudInitView
				runCloudInit(t, &got, "device", dev)
				assert.Equal(t, dev, got.Seed, "NoCloud used another source")
				assertCloudInitRead(t, want, got)
			})
			t.Run("seed directory", func(t *testing.T) {
				root := t.TempDir()
				dir := filepath.Join(root, "seed", "nocloud")
				extractWithIsoinfo(t, isoinfo, iso, dir)
				var got cloudInitView
				runCloudInit(t, &got, "seeddir", root)
				assert.Equal(t, dir, got.Seed, "NoCloud used another source")
				assertCloudInitRead(t, want, got)
			})
		})
	}
}

// assertCloudInitRead checks what NoCloud made of the seed against the files
// written.
func assertCloudInitRead(t *testing.T, want map[string][]byte, got cloudInitView) {
	t.Helper()
	assert.True(t, got.OK, "DataSourceNoCloud._get_data returned False")
	assertFiles(t, want, got.Files)
	var md map[string]any
	require.NoError(t, yaml.Unmarshal(want["meta-data"], &md))
	assert.Equal(t, md["instance-id"], got.MetaData["instance-id"])
	assert.Equal(t, md["local-hostname"], got.MetaData["local-hostname"])
	assert.Equal(t, nonNil(want["user-data"]), nonNil(got.UserData))
	assert.Equal(t, want["vendor-data"], nonEmpty(got.VendorData))
	if nc, ok := want["network-config"]; ok {
		wantJSON, err := yaml.YAMLToJSON(nc)
		require.NoError(t, err)
		assert.JSONEq(t, string(wantJSON), string(got.NetworkConfig))
	} else {
		assert.Equal(t, "null", string(got.NetworkConfig))
	}
}

func BenchmarkWriteSeed(b *testing.B) {
	dir := b.TempDir()
	iso := filepath.Join(dir, "seed.iso")
	s := nocloud.Seed{
		UserData:      []byte(userData + strings.Repeat("# padding to a typical 4 KiB cloud-config\n", 90)),
		MetaData:      nocloud.DefaultMetaData("iid-node-1", "node-1"),
		NetworkConfig: []byte(networkConfig),
	}
	for b.Loop() {
		if err := nocloud.WriteSeed(iso, s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(fileSize(b, iso)), "iso-bytes")
}

// readISO reads a seed back with go-diskfs: its volume label and every file.
func readISO(t testing.TB, path string) (label string, files map[string][]byte) {
	t.Helper()
	d, err := diskfs.Open(path)
	require.NoError(t, err)
	defer d.Close()
	fs, err := d.GetFilesystem(0)
	require.NoError(t, err)
	entries, err := fs.ReadDir(".")
	require.NoError(t, err)
	files = map[string][]byte{}
	for _, e := range entries {
		require.False(t, e.IsDir(), "unexpected directory %s", e.Name())
		files[e.Name()], err = fs.ReadFile(e.Name())
		require.NoError(t, err)
	}
	return strings.TrimRight(fs.Label(), " \x00"), files
}

// metaDataInstanceID parses meta-data and returns its generated instance-id.
func metaDataInstanceID(t *testing.T, md []byte) string {
	t.Helper()
	var m map[string]string
	require.NoError(t, yaml.Unmarshal(md, &m))
	id := m["instance-id"]
	assert.Regexp(t, instanceIDPattern, id)
	return id
}

// assertFiles compares file sets byte for byte, nil and empty alike.
func assertFiles(t *testing.T, want, got map[string][]byte) {
	t.Helper()
	norm := func(m map[string][]byte) map[string][]byte {
		out := map[string][]byte{}
		for k, v := range m {
			out[k] = nonNil(v)
		}
		return out
	}
	assert.Equal(t, norm(want), norm(got))
}

// assertOnlyEntries checks that dir holds exactly names.
func assertOnlyEntries(t *testing.T, dir string, names ...string) {
	t.Helper()
	assert.Equal(t, names, entries(t, dir))
}

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := []string{}
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// fileSize returns the size of a file.
func fileSize(t testing.TB, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	require.NoError(t, err)
	return fi.Size()
}

// nonNil turns nil into an empty slice.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nonEmpty turns an empty slice into nil.
func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
