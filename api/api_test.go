package api

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStandardLibraryOnly keeps the package usable by kubebake-firstboot.
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").Output()
	require.NoError(t, err)
	for _, imp := range strings.Fields(string(out)) {
		require.NotContains(t, imp, ".", "package api imports %s", imp)
	}
}

// TestImageInfoRoundTrip pins the JSON names of image.json: images baked
// before a change must still read.
func TestImageInfoRoundTrip(t *testing.T) {
	const doc = `{"recipe":"r","distro":"debian","release":"13","arch":"amd64","kubernetesVersion":"v1.36.3",` +
		`"runtime":"containerd","criSocket":"unix:///run/containerd/containerd.sock","cgroupDriver":"systemd",` +
		`"sandboxImage":"registry.k8s.io/pause:3.10.2","images":[{"name":"a:1","digest":"sha256:x","pinned":true}]}`
	var info ImageInfo
	require.NoError(t, json.Unmarshal([]byte(doc), &info))
	require.Equal(t, ImageInfo{
		Recipe: "r", Distro: "debian", Release: "13", Arch: "amd64", KubernetesVersion: "v1.36.3",
		Runtime: "containerd", CRISocket: "unix:///run/containerd/containerd.sock", CgroupDriver: "systemd",
		SandboxImage: "registry.k8s.io/pause:3.10.2", Images: []Image{{Name: "a:1", Digest: "sha256:x", Pinned: true}},
	}, info)
	out, err := json.Marshal(info)
	require.NoError(t, err)
	require.JSONEq(t, doc, string(out))
}
