package build

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/internal/testutil"
)

func gptDisk(t *testing.T, parts ...*gpt.Partition) string {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "disk.raw")
	d, err := diskfs.Create(raw, 64<<20, diskfs.SectorSizeDefault)
	require.NoError(t, err)
	require.NoError(t, d.Partition(&gpt.Table{LogicalSectorSize: 512, PhysicalSectorSize: 512, ProtectiveMBR: true, Partitions: parts}))
	require.NoError(t, d.Close())
	return raw
}

func TestFindRoot(t *testing.T) {
	t.Parallel()
	esp := func() *gpt.Partition {
		return &gpt.Partition{Index: 1, Start: 2048, End: 10239, Type: gpt.EFISystemPartition, Name: "ESP"}
	}
	cases := []struct {
		name  string
		parts []*gpt.Partition
		want  int64
		err   string
	}{
		{"named root", []*gpt.Partition{esp(), {Index: 2, Start: 10240, End: 100000, Type: gpt.LinuxFilesystem, Name: "root"}}, 10240 * 512, ""},
		{"the only Linux partition", []*gpt.Partition{esp(), {Index: 2, Start: 20480, End: 100000, Type: gpt.LinuxFilesystem}}, 20480 * 512, ""},
		{"two Linux partitions, none named root", []*gpt.Partition{
			{Index: 1, Start: 2048, End: 40000, Type: gpt.LinuxFilesystem},
			{Index: 2, Start: 40960, End: 100000, Type: gpt.LinuxFilesystem},
		}, 0, "want one partition named root"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := FindRoot(gptDisk(t, tc.parts...))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, r.Offset)
		})
	}
	_, err := FindRoot(filepath.Join(t.TempDir(), "missing.raw"))
	require.ErrorContains(t, err, "missing.raw")
}

func TestPlanOverridesLocalDirs(t *testing.T) {
	t.Parallel()
	p, err := Plan("debian-13-docker", "/srv/k8s", "/srv/cri-dockerd")
	require.NoError(t, err)
	inputs := map[string]string{}
	for _, in := range p.Inputs {
		inputs[in.Name] = in.HostPath
	}
	assert.Equal(t, "/srv/k8s/kubeadm", inputs["kubeadm"])
	assert.Equal(t, "/srv/cri-dockerd/cri-dockerd", inputs["cri-dockerd"])
	_, err = Plan("debian-13-containerd", "relative/dir", "")
	require.ErrorContains(t, err, "kubernetes.local.dir")
}

// failingRunner fails the command named fail and records the others.
type failingRunner struct {
	fail string
	ran  []string
}

func (f *failingRunner) Run(_ context.Context, c sys.Cmd) ([]byte, error) {
	f.ran = append(f.ran, c.String())
	if c.Name == f.fail {
		return []byte("qemu-img: Could not open base.qcow2"), &sys.RunError{Command: c.String(), Output: []byte("qemu-img: Could not open base.qcow2"), Inner: errors.New("exit status 1")}
	}
	return nil, nil
}

func TestBuildFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	fb := filepath.Join(t.TempDir(), "kubebake-firstboot")
	require.NoError(t, os.WriteFile(fb, []byte("x"), 0o755))
	r := &failingRunner{fail: "qemu-img"}
	_, err := Build(context.Background(), Options{
		Recipe: "debian-13-containerd", Base: "base.qcow2", OutDir: out, Runner: r,
		Inputs: map[string]string{"kubebake-firstboot": fb},
	})
	require.ErrorContains(t, err, "qemu-img convert -O raw base.qcow2")
	require.ErrorContains(t, err, "Could not open base.qcow2")
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Empty(t, entries, "no image, manifest or work directory is left")
}

// TestBuildUserDataSchema has cloud-init validate the build user's
// cloud-config.
func TestBuildUserDataSchema(t *testing.T) {
	t.Parallel()
	bin := testutil.Tool(t, "cloud-init")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	ud := BuildUserData(BuildUser, signer.PublicKey())
	f := filepath.Join(t.TempDir(), "user-data")
	require.NoError(t, os.WriteFile(f, ud, 0o600))
	res, err := exec.Command(bin, "schema", "--config-file", f).CombinedOutput()
	require.NoError(t, err, "%s", res)
	assert.Contains(t, string(ud), "ssh-ed25519 ")
	assert.Contains(t, string(ud), "name: "+BuildUser)
	script := SealAndPowerOff(BuildUser)
	out, err := exec.Command("bash", "-n", "-c", script).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.True(t, strings.Contains(script, "userdel --remove --force "+BuildUser))
}

func TestReadRuntimeImages(t *testing.T) {
	dir := t.TempDir()
	imgs, err := readRuntimeImages(filepath.Join(dir, "none.json"))
	require.NoError(t, err, "a plan without an images step records nothing")
	assert.Nil(t, imgs)

	// What crictl 1.36 prints for a pinned image imported from an archive.
	rec := filepath.Join(dir, "images.json")
	require.NoError(t, os.WriteFile(rec, []byte(`{"images": [{"id": "sha256:fe2a", "repoTags": ["registry.k8s.io/etcd:3.6.8-0"],
	  "repoDigests": ["registry.k8s.io/etcd@sha256:97e2"], "size": "16134144", "uid": null, "username": "", "spec": null, "pinned": true}]}`), 0o644))
	imgs, err = readRuntimeImages(rec)
	require.NoError(t, err)
	assert.Equal(t, []RuntimeImage{{ID: "sha256:fe2a", RepoTags: []string{"registry.k8s.io/etcd:3.6.8-0"},
		RepoDigests: []string{"registry.k8s.io/etcd@sha256:97e2"}, Size: 16134144, Pinned: true}}, imgs)

	require.NoError(t, os.WriteFile(rec, []byte("crictl: connection refused\n"), 0o644))
	_, err = readRuntimeImages(rec)
	require.ErrorContains(t, err, "/etc/kubebake/images.json")
}
