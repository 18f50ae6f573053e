package nodeconfig_test

import (
	"bytes"
	"errors"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/firstboot/kubeadm"
	"github.com/kubebake/kubebake/firstboot/nodeconfig"
)

var fuzzSeeds = []string{
	"",
	header,
	header + "role: init\n",
	header + "role: init\ncluster:\n  podSubnet: 10.244.0.0/16,fd00::/56\n  kubernetesVersion: 1.30.14\nbootstrap:\n  uploadCerts: true\n  certificateKey: " + testCertKey + "\nnode:\n  advertiseAddress: 10.0.0.10\n  taints: []\n  kubelet: {maxPods: 30, evictionHard: {memory.available: 100Mi}}\ncni:\n  manifest: /etc/kubebake/cni.yaml\nhooks:\n  before: [{name: a, run: 'true'}]\n  after: [{name: b, run: 'true'}]\ntimeouts:\n  runtime: 30s\n  controlPlane: 1h\n",
	header + "role: join\ncluster:\n  controlPlaneEndpoint: lb.example.com:6443\nbootstrap:\n  token: " + testToken + "\n  caCertHashes: [\"" + testHash + "\"]\nnode:\n  labels: {kubebake.dev/pool: edge}\n  taints: [{key: dedicated, value: edge, effect: NoSchedule}]\n  ignorePreflightErrors: [NumCPU]\n",
	header + "role: control-plane\ncluster:\n  controlPlaneEndpoint: '[fd00::1]:6443'\nbootstrap:\n  token: " + testToken + "\n  unsafeSkipCAVerification: true\n  certificateKey: " + testCertKey + "\n",
	header + "role: join\nnode:\n  kubelet: null\n",
	header + "role: join\nnode:\n  kubelet: [1, 2]\n",
	header + "role: init\ncluster: {kubernetesVersion: v2.0.0}\n",
	header + "role: init\ntimeouts: {runtime: -1s}\n",
	header + "role: init\nunknown: 1\n",
	"role: [\n",
}

// FuzzDecodeNodeConfig decodes arbitrary documents, then defaults,
// validates and renders those that decode: no panic, errors are errors,
// and what renders is YAML.
//
//	go test ./firstboot/nodeconfig -run '^$' -fuzz FuzzDecodeNodeConfig -fuzztime 30s
func FuzzDecodeNodeConfig(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := nodeconfig.Decode(data)
		if err != nil {
			if c != nil || err.Error() == "" {
				t.Fatalf("error %q with a config", err)
			}
			return
		}
		if err := nodeconfig.SetDefaults(c, nodeconfig.Env{KubernetesVersion: "v1.36.3", Hostname: "Fuzz-Host"}); err != nil {
			t.Fatal(err)
		}
		if err := nodeconfig.Validate(c); err != nil {
			var inv *nodeconfig.InvalidError
			if !errors.As(err, &inv) || len(inv.Errors) == 0 {
				t.Fatalf("Validate: %v is not an InvalidError with errors", err)
			}
			for _, fe := range inv.Errors {
				if fe.Path == "" || fe.Message == "" {
					t.Fatalf("Validate: empty path or message in %v", err)
				}
			}
			return
		}
		if _, err := kubeadm.KubeletPatch(c); err != nil {
			t.Fatalf("KubeletPatch of a valid config: %v", err)
		}
		out, err := kubeadm.Render(c, kubeadm.Options{CRISocket: "unix:///run/containerd/containerd.sock", PatchesDir: "/etc/kubebake/patches"})
		if err != nil {
			return
		}
		for i, doc := range bytes.Split(out, []byte("\n---\n")) {
			var m map[string]any
			if err := yaml.Unmarshal(doc, &m); err != nil || m["kind"] == nil {
				t.Fatalf("rendered document %d is not a kind of YAML: %v\n%s", i, err, out)
			}
		}
	})
}

// FuzzMergeInto merges an arbitrary drop-in into a valid NodeConfig: no
// panic, and node.kubelet stays JSON.
func FuzzMergeInto(f *testing.F) {
	for _, s := range []string{"", "node:\n  kubelet: {podPidsLimit: 1, evictionHard: {nodefs.available: 5%}}\n", "node:\n  kubelet: null\n", "node:\n  kubelet: [1]\n", "node:\n  taints: []\n  labels: {a: b}\n", "role: [\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := nodeconfig.Decode([]byte(header + "role: join\nnode:\n  labels: {x: y}\n  kubelet: {maxPods: 30, evictionHard: {memory.available: 100Mi}}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if err := nodeconfig.MergeInto(c, data); err != nil {
			return
		}
		if len(c.Node.Kubelet) > 0 {
			var v any
			if err := yaml.Unmarshal(c.Node.Kubelet, &v); err != nil {
				t.Fatalf("node.kubelet %q: %v", c.Node.Kubelet, err)
			}
		}
	})
}
