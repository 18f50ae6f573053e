package qemu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/internal/manifest"
	"github.com/kubebake/kubebake/internal/sbom"
	"github.com/kubebake/kubebake/internal/testutil"
)

// localComm is a communicator to this machine: it runs each command with
// sh (sudo -n dropped: the tests run as whoever runs them), with bin first
// on the probe's PATH.
type localComm struct{ bin string }

func (c localComm) Start(ctx context.Context, cmd *packersdk.RemoteCmd) error {
	command := strings.TrimPrefix(cmd.Command, "sudo -n ")
	command = strings.Replace(command, "export PATH=", "export PATH="+c.bin+":", 1)
	x := exec.CommandContext(ctx, "sh", "-c", command)
	x.Stdout, x.Stderr = cmd.Stdout, cmd.Stderr
	err := x.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		cmd.SetExited(exit.ExitCode())
	case err != nil:
		return err
	default:
		cmd.SetExited(0)
	}
	return nil
}

func (localComm) Upload(string, io.Reader, *os.FileInfo) error { return errors.New("no upload") }
func (localComm) UploadDir(string, string, []string) error     { return errors.New("no upload") }
func (localComm) Download(string, io.Writer) error             { return errors.New("no download") }
func (localComm) DownloadDir(string, string, []string) error   { return errors.New("no download") }

// TestGuestInventory runs the SBOM probe through a communicator on this
// Debian machine with stand-ins for the Kubernetes and containerd
// binaries, and the sealing step's failure when one is missing.
func TestGuestInventory(t *testing.T) {
	t.Parallel()
	testutil.Tool(t, "dpkg-query")
	bin := t.TempDir()
	for name, out := range map[string]string{"kubeadm": "v1.36.3", "kubelet": "Kubernetes v1.36.3", "kubectl": "", "crictl": "crictl version v1.36.0", "containerd": "containerd containerd.io 1.7.27 05044ec"} {
		require.NoError(t, os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\necho '"+out+"'\n"), 0o755))
	}
	ii := api.ImageInfo{Distro: "debian", Release: "13", Runtime: "containerd", KubernetesVersion: "v1.36.3"}
	inv, err := guestInventory(context.Background(), localComm{bin: bin}, ii)
	require.NoError(t, err)
	assert.NotEmpty(t, inv.Packages)
	versions := map[string]string{}
	for _, b := range inv.Binaries {
		if filepath.Dir(b.Path) == bin {
			versions[b.Name] = b.Version
		}
	}
	assert.Equal(t, map[string]string{"kubeadm": "v1.36.3", "kubelet": "v1.36.3", "kubectl": "v1.36.3", "crictl": "v1.36.0", "containerd": "1.7.27"}, versions,
		"kubectl printed none: image.json's version")

	require.NoError(t, os.Remove(filepath.Join(bin, "containerd")))
	_, err = guestInventory(context.Background(), localComm{bin: bin}, ii)
	require.ErrorContains(t, err, "SBOM inventory: exit code 1: inventory: containerd: not found in the image")

	_, err = guestInventory(context.Background(), localComm{bin: bin}, api.ImageInfo{Distro: "gentoo", Release: "1", Runtime: "containerd"})
	require.ErrorContains(t, err, "distro gentoo 1 is none kubebake knows")
}

// TestWriteManifestWithSBOM: with the guest inventoried, the manifest step
// writes NAME.spdx.json beside the image, which the SPDX library reads
// back as the image's SBOM with the runtime's images, and the manifest
// names it; without an inventory (an Ignition build) there is none.
func TestWriteManifestWithSBOM(t *testing.T) {
	t.Parallel()
	for _, inventoried := range []bool{true, false} {
		t.Run(fmt.Sprintf("inventoried=%v", inventoried), func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			img := filepath.Join(out, "node.qcow2")
			require.NoError(t, os.WriteFile(img, []byte("image"), 0o644))
			c := &Config{VMName: "node", OutputDirectory: out, Format: "qcow2"}
			state, _ := newState(t, c, &mockDriver{})
			state.Put(keyOutput, img)
			state.Put(keyImageInfo, api.ImageInfo{Recipe: "debian-13-containerd", Distro: "debian", Release: "13", Runtime: "containerd", KubernetesVersion: "v1.36.3"})
			pause := strings.Repeat("5", 64)
			state.Put(keyRuntimeImages, []manifest.RuntimeImage{{ID: "sha256:" + strings.Repeat("6", 64), RepoTags: []string{"registry.k8s.io/pause:3.10.2"}, RepoDigests: []string{"registry.k8s.io/pause@sha256:" + pause}}})
			inv := sbom.Inventory{
				OS:       sbom.OS{ID: "debian", VersionID: "13"},
				Packages: []sbom.Package{{Format: sbom.FormatDeb, Name: "containerd", Version: "1.7.24~ds1-6+b3", Arch: "amd64"}},
			}
			if inventoried {
				state.Put(keyInventory, inv)
			}
			now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
			step := &stepWriteManifest{config: c, start: now, now: func() time.Time { return now }}
			require.Equal(t, multistep.ActionContinue, step.Run(context.Background(), state), "%v", state.Get("error"))

			b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
			require.NoError(t, err)
			var m manifest.Manifest
			require.NoError(t, json.Unmarshal(b, &m))
			assert.Equal(t, manifest.SchemaVersion, m.SchemaVersion)
			if !inventoried {
				assert.Empty(t, m.SBOM)
				assert.NoFileExists(t, filepath.Join(out, "node.spdx.json"))
				return
			}
			require.Equal(t, "node.spdx.json", m.SBOM)
			assert.Equal(t, filepath.Join(out, "node.spdx.json"), state.Get(keySBOM))
			doc, err := os.ReadFile(filepath.Join(out, m.SBOM))
			require.NoError(t, err)
			_, root, got, err := sbom.Read(doc)
			require.NoError(t, err)
			sum := sha256.Sum256([]byte("image"))
			assert.Equal(t, sbom.Root{Name: "node", File: "node.qcow2", SHA256: hex.EncodeToString(sum[:]), Version: "v1.36.3"}, root)
			assert.Equal(t, inv.Packages, got.Packages)
			assert.Equal(t, []sbom.Image{{Repository: "registry.k8s.io/pause", Tag: "3.10.2", Digest: "sha256:" + pause}}, got.Images)
		})
	}
}
