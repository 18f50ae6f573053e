package firstboot_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/kubebake/kubebake/api"
	"github.com/kubebake/kubebake/firstboot"
	"github.com/kubebake/kubebake/firstboot/source"
)

// BenchmarkConfigPhase measures the whole config phase of a first boot:
// find the NodeConfig in cloud-init user data (a #cloud-config with
// write_files), decode it, merge a drop-in, default, validate, render and
// write kubeadm.yaml and the kubelet patch, as --skip run does.
//
//	go test ./firstboot -run '^$' -bench ConfigPhase -benchmem
func BenchmarkConfigPhase(b *testing.B) {
	root := b.TempDir()
	files := map[string]string{
		api.ImageInfoPath:                       imageJSON,
		"/var/lib/cloud/instance/user-data.txt": "#cloud-config\npackage_update: false\nwrite_files:\n  - path: /etc/motd\n    content: hello\n  - path: " + source.NodeConfigPath + "\n    permissions: '0600'\n    encoding: b64\n    content: " + b64(joinConfig+"node:\n  kubelet: {maxPods: 50}\n") + "\n",
		"/etc/kubebake/node.d/10-pool.yaml":     "node:\n  labels: {kubebake.dev/pool: edge}\n  kubelet: {podPidsLimit: 4096}\n",
	}
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	o := firstboot.Options{
		Root:     root,
		Finder:   source.Finder{Root: root},
		SkipRun:  true,
		Runner:   &fakeRunner{root: root},
		Clock:    newClock(),
		Log:      io.Discard,
		Hostname: func() (string, error) { return "node-1", nil },
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := firstboot.Run(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, firstboot.KubeadmConfig)); err != nil {
		b.Fatal(err)
	}
}
