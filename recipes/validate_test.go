package recipes_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes"
)

const header = "apiVersion: kubebake.dev/v1alpha1\nkind: Recipe\n"

// want is one expected report entry: where, which field, what it says.
type want struct {
	pos  string // FILE:LINE:COL
	path string
	msg  string // substring
}

func decode(t *testing.T, doc string) (*recipes.Loaded, error) {
	t.Helper()
	l, err := recipes.Decode("recipe.yaml", []byte(doc))
	require.NotNil(t, l)
	return l, err
}

func TestValidateErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		doc  string
		want []want
	}{
		{
			name: "unknown field, with every other problem reported too",
			doc:  header + "base:\n  distro: ubuntu\n  relase: \"24.04\"\nruntime:\n  kind: rkt\n",
			want: []want{
				{"recipe.yaml:5:3", "base.relase", `unknown field "relase"`},
				{"recipe.yaml:4:3", "base.release", `unknown release "" of ubuntu`},
				{"recipe.yaml:7:9", "runtime.kind", `unknown runtime "rkt"`},
			},
		},
		{
			name: "field in the wrong case gets a suggestion",
			doc:  header + "base:\n  Distro: ubuntu\n  release: \"24.04\"\nruntime:\n  kind: containerd\n",
			want: []want{{"recipe.yaml:4:3", "base.Distro", `did you mean "distro"`}},
		},
		{
			name: "unknown distro",
			doc:  header + "base:\n  distro: gentoo\n  release: \"1\"\nruntime:\n  kind: containerd\n",
			want: []want{{"recipe.yaml:4:11", "base.distro", `unknown distro "gentoo"`}},
		},
		{
			name: "runtime the distro family cannot carry",
			doc:  header + "base:\n  distro: fedora-coreos\n  release: stable\nruntime:\n  kind: docker\n",
			want: []want{{"recipe.yaml:7:9", "runtime.kind", "fedora-coreos stable cannot carry docker"}},
		},
		{
			name: "runtime source the distro has no package for",
			doc:  header + "base:\n  distro: rocky\n  release: \"9\"\nruntime:\n  kind: containerd\n  source: distro\n",
			want: []want{{"recipe.yaml:8:11", "runtime.source", "rocky 9 has no distro package for containerd"}},
		},
		{
			name: "local source of a runtime that has none",
			doc:  header + "base:\n  distro: debian\n  release: \"13\"\nruntime:\n  kind: containerd\n  source: local\n  local:\n    dir: /opt/containerd\n",
			want: []want{{"recipe.yaml:8:11", "runtime.source", "containerd has no local source (only cri-o does)"}},
		},
		{
			name: "local CRI-O without a directory",
			doc:  header + "base:\n  distro: debian\n  release: \"13\"\nruntime:\n  kind: cri-o\n  source: local\n",
			want: []want{{"recipe.yaml:7:3", "runtime.local.dir", "a directory is needed"}},
		},
		{
			name: "local CRI-O from a relative directory",
			doc:  header + "base:\n  distro: debian\n  release: \"13\"\nruntime:\n  kind: cri-o\n  source: local\n  local:\n    dir: _build/cri-o\n",
			want: []want{{"recipe.yaml:10:10", "runtime.local.dir", `"_build/cri-o" is a relative path`}},
		},
		{
			name: "local CRI-O on Fedora CoreOS",
			doc:  header + "base:\n  distro: fedora-coreos\n  release: stable\nruntime:\n  kind: cri-o\n  source: local\n  local:\n    dir: /opt/crio\n",
			want: []want{{"recipe.yaml:8:11", "runtime.source", "fedora-coreos bakes from Ignition alone"}},
		},
		{
			name: "CRI-O minor differs from the Kubernetes minor",
			doc:  header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nkubernetes:\n  version: v1.36.3\nruntime:\n  kind: cri-o\n  version: \"1.35\"\n",
			want: []want{{"recipe.yaml:10:12", "runtime.version", "CRI-O minor 1.35 must equal the Kubernetes minor 1.36"}},
		},
		{
			name: "Kubernetes version that is not a version",
			doc:  header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nkubernetes:\n  version: latest\nruntime:\n  kind: containerd\n",
			want: []want{{"recipe.yaml:7:12", "kubernetes.version", `"latest" is not a version`}},
		},
		{
			name: "Kubernetes minor kubebake does not know",
			doc:  header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nkubernetes:\n  version: v1.20.0\nruntime:\n  kind: containerd\n",
			want: []want{{"recipe.yaml:7:12", "kubernetes.version", "Kubernetes 1.20 is not supported"}},
		},
		{
			name: "package mirror and its key",
			doc: header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nkubernetes:\n  packages:\n    url: ftp://mirror.example.com\n    key:\n" +
				"      url: https://mirror.example.com/k.asc\n      file: /etc/keys/k.asc\n      fingerprint: \"DE15 B144\"\nruntime:\n  kind: containerd\n",
			want: []want{
				{"recipe.yaml:8:10", "kubernetes.packages.url", `"ftp://mirror.example.com" is not an http or https URL`},
				{"recipe.yaml:11:13", "kubernetes.packages.key.file", "set url or file, not both"},
				{"recipe.yaml:12:20", "kubernetes.packages.key.fingerprint", `"DE15B144" is not an OpenPGP fingerprint`},
			},
		},
		{
			name: "relative key file",
			doc:  header + "base:\n  distro: rocky\n  release: \"9\"\nkubernetes:\n  packages:\n    key:\n      file: keys/k.asc\nruntime:\n  kind: cri-o\n",
			want: []want{{"recipe.yaml:9:13", "kubernetes.packages.key.file", `"keys/k.asc" must be a clean absolute path`}},
		},
		{
			name: "Fedora CoreOS cannot copy or check a key",
			doc: header + "base:\n  distro: fedora-coreos\n  release: stable\nkubernetes:\n  source: packages\n  packages:\n    key:\n" +
				"      file: /etc/keys/k.asc\n      fingerprint: de15b14486cd377b9e876e1a234654da9a296436\nruntime:\n  kind: cri-o\n",
			want: []want{
				{"recipe.yaml:10:13", "kubernetes.packages.key.file", "cannot copy a key file"},
				{"recipe.yaml:11:20", "kubernetes.packages.key.fingerprint", "no fingerprint can be checked"},
			},
		},
		{
			name: "release mirrors of crictl and the CNI plugins",
			doc: header + "base:\n  distro: debian\n  release: \"13\"\nkubernetes:\n  source: binaries\n  binaries:\n    criToolsURL: mirror.example.com/cri-tools\n" +
				"  cniPlugins:\n    url: https://user@mirror.example.com/cni\nruntime:\n  kind: containerd\n",
			want: []want{
				{"recipe.yaml:9:18", "kubernetes.binaries.criToolsURL", "is not an http or https URL"},
				{"recipe.yaml:11:10", "kubernetes.cniPlugins.url", "may hold only a scheme, host and path"},
			},
		},
		{
			name: "relative paths",
			doc: header + "base:\n  distro: debian\n  release: \"13\"\nkubernetes:\n  source: local\n  local:\n    dir: bin/k8s\n" +
				"runtime:\n  kind: containerd\nnode:\n  files:\n  - path: etc/motd\n    content: hi\n",
			want: []want{
				{"recipe.yaml:9:10", "kubernetes.local.dir", `"bin/k8s" is a relative path`},
				{"recipe.yaml:14:11", "node.files[0].path", `"etc/motd" is a relative path`},
			},
		},
		{
			name: "sysctl key and module name outside their alphabets",
			doc: header + "base:\n  distro: debian\n  release: \"13\"\nruntime:\n  kind: containerd\nnode:\n  kernelModules: [\"ip_vs;reboot\"]\n" +
				"  sysctls:\n    \"net.core.somaxconn`id`\": \"1024\"\n    net.ipv4.ip_forward: \"0\"\n",
			want: []want{
				{"recipe.yaml:9:19", "node.kernelModules[0]", "is not a module name"},
				{"recipe.yaml:11:5", "node.sysctls[net.core.somaxconn`id`]", "is not a sysctl key"},
				{"recipe.yaml:12:5", "node.sysctls[net.ipv4.ip_forward]", "must be 1"},
			},
		},
		{
			name: "mirror that is not a URL",
			doc: header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nruntime:\n  kind: containerd\n  mirrors:\n  - registry: docker.io\n" +
				"    endpoints: [\"mirror.example.com\", \"ftp://mirror.example.com\"]\n  - registry: docker.io\n    endpoints: []\n",
			want: []want{
				{"recipe.yaml:10:17", "runtime.mirrors[0].endpoints[0]", "is not an http or https URL"},
				{"recipe.yaml:10:39", "runtime.mirrors[0].endpoints[1]", "is not an http or https URL"},
				{"recipe.yaml:11:15", "runtime.mirrors[1].registry", "listed twice"},
				{"recipe.yaml:12:16", "runtime.mirrors[1].endpoints", "at least one mirror URL"},
			},
		},
		{
			name: "wrong shapes",
			doc:  header + "base: ubuntu\nruntime:\n  kind: [containerd]\nseal:\n  enabled: maybe\n",
			want: []want{
				{"recipe.yaml:3:7", "base", "expected a mapping"},
				{"recipe.yaml:5:9", "runtime.kind", "expected a string"},
				{"recipe.yaml:7:12", "seal.enabled", "expected true or false"},
			},
		},
		{
			name: "selinux on a distro without it",
			doc:  header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nruntime:\n  kind: containerd\nnode:\n  selinux: enforcing\n",
			want: []want{{"recipe.yaml:9:12", "node.selinux", "applies to EL and Fedora CoreOS only"}},
		},
		{
			name: "graceful shutdown periods",
			doc: header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nruntime:\n  kind: containerd\nnode:\n" +
				"  shutdownGracePeriod: 20s\n  shutdownGracePeriodCriticalPods: 30s\n",
			want: []want{{"recipe.yaml:10:36", "node.shutdownGracePeriodCriticalPods", "longer than node.shutdownGracePeriod"}},
		},
		{
			name: "graceful shutdown periods that are not whole seconds",
			doc: header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nruntime:\n  kind: containerd\nnode:\n" +
				"  shutdownGracePeriod: 1500ms\n  shutdownGracePeriodCriticalPods: soon\n",
			want: []want{
				{"recipe.yaml:9:24", "node.shutdownGracePeriod", "not whole seconds"},
				{"recipe.yaml:10:36", "node.shutdownGracePeriodCriticalPods", "is not a duration"},
			},
		},
		{
			name: "ssh host key types cloud-init does not make, and one twice",
			doc: header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nruntime:\n  kind: containerd\nnode:\n" +
				"  sshHostKeyTypes: [ed25519, dsa, ed25519]\n",
			want: []want{
				{"recipe.yaml:9:30", "node.sshHostKeyTypes[1]", "unknown key type \"dsa\" (want rsa, ecdsa, ed25519)"},
				{"recipe.yaml:9:35", "node.sshHostKeyTypes[2]", "listed twice"},
			},
		},
		{
			name: "runtime config that does not parse",
			doc:  header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nruntime:\n  kind: containerd\n  config: \"[plugins\"\n",
			want: []want{{"recipe.yaml:8:11", "runtime.config", "not valid TOML"}},
		},
		{
			name: "containerd config that sets what kubebake manages",
			doc: header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nruntime:\n  kind: containerd\n  config: |\n" +
				"    version = 3\n    [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n    SystemdCgroup = false\n",
			want: []want{
				{"recipe.yaml:8:11", "runtime.config", "version = 3"},
				{"recipe.yaml:8:11", "runtime.config", "SystemdCgroup, which kubebake manages"},
			},
		},
		{
			name: "cri-o config that sets what kubebake manages",
			doc: header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nruntime:\n  kind: cri-o\n  config: |\n" +
				"    [crio.image]\n    pause_image = \"x/pause:1\"\n",
			want: []want{{"recipe.yaml:8:11", "runtime.config", "crio.image.pause_image, which kubebake manages"}},
		},
		{
			name: "docker config that sets what kubebake manages",
			doc:  header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nruntime:\n  kind: docker\n  config: '{\"exec-opts\": [\"native.cgroupdriver=cgroupfs\"]}'\n",
			want: []want{{"recipe.yaml:8:11", "runtime.config", `sets "exec-opts"`}},
		},
		{
			name: "untagged image, bad digest, bad hook name, duplicate hook",
			doc: header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nruntime:\n  kind: containerd\nimages:\n  extra:\n  - name: nginx\n    digest: sha256:abc\n" +
				"hooks:\n  before:\n  - name: Say Hi\n    run: echo hi\n  - name: x\n    run: \"\"\n  after:\n  - name: x\n    run: echo\n",
			want: []want{
				{"recipe.yaml:10:11", "images.extra[0].name", "needs a tag"},
				{"recipe.yaml:11:13", "images.extra[0].digest", "is not sha256:"},
				{"recipe.yaml:14:11", "hooks.before[0].name", "must be lower-case"},
				{"recipe.yaml:17:10", "hooks.before[1].run", "needs a script"},
				{"recipe.yaml:19:11", "hooks.after[0].name", "is also the name of hooks.before[1]"},
			},
		},
		{
			name: "from an unknown built-in",
			doc:  header + "from: ubuntu-99.04-containerd\n",
			want: []want{{"recipe.yaml:3:7", "from", `unknown built-in recipe "ubuntu-99.04-containerd"`}},
		},
		{
			name: "wrong apiVersion and kind",
			doc:  "apiVersion: v1\nkind: Pod\nbase:\n  distro: ubuntu\n  release: \"24.04\"\nruntime:\n  kind: containerd\n",
			want: []want{
				{"recipe.yaml:1:13", "apiVersion", `must be "kubebake.dev/v1alpha1"`},
				{"recipe.yaml:2:7", "kind", `must be "Recipe"`},
			},
		},
		{
			name: "YAML syntax error",
			doc:  header + "base:\n  distro: [ubuntu\n",
			want: []want{{"recipe.yaml:3:1", "", "did not find expected"}},
		},
		{
			name: "empty document",
			doc:  "",
			want: []want{{"recipe.yaml:1:1", "", "empty document"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := decode(t, tc.doc)
			var invalid *recipes.InvalidError
			require.True(t, errors.As(err, &invalid), "want an invalid recipe, got %v", err)
			errs := l.Report.Errors()
			for _, w := range tc.want {
				found := false
				for _, e := range errs {
					if e.Path == w.path && strings.Contains(e.Message, w.msg) && e.Pos.String() == w.pos {
						found = true
					}
				}
				assert.True(t, found, "want %s: %s: ...%s... in\n%s", w.pos, w.path, w.msg, l.Report.String())
			}
			assert.Len(t, errs, len(tc.want), "every error, no more:\n%s", l.Report.String())
		})
	}
}

func TestValidateWarnings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		doc  string
		path string
		msg  string
	}{
		{"unknown patch of a known minor", header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nkubernetes:\n  version: v1.36.99\nruntime:\n  kind: containerd\n",
			"kubernetes.version", "not a patch release kubebake knows"},
		{"docker mirror for another registry", header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nruntime:\n  kind: docker\n  mirrors:\n  - registry: quay.io\n    endpoints: [\"https://m.example.com\"]\n",
			"runtime.mirrors[0].registry", "mirrors only docker.io"},
		{"plain http mirror", header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nruntime:\n  kind: containerd\n  mirrors:\n  - registry: docker.io\n    endpoints: [\"http://m.example.com:5000\"]\n",
			"runtime.mirrors[0].endpoints[0]", "plain http"},
		{"package mirror trusted with its own key", header + "base:\n  distro: debian\n  release: \"13\"\nkubernetes:\n  packages:\n    url: https://nexus.example.com/repository/pkgs-k8s\nruntime:\n  kind: containerd\n",
			"kubernetes.packages.key", "trusted with the key it serves itself"},
		{"package mirror of another source", header + "base:\n  distro: debian\n  release: \"13\"\nkubernetes:\n  source: binaries\n  packages:\n    url: https://nexus.example.com/pkgs\nruntime:\n  kind: containerd\n",
			"kubernetes.packages", "ignored: kubernetes.source is binaries"},
		{"CNI mirror of another source", header + "base:\n  distro: debian\n  release: \"13\"\nkubernetes:\n  source: local\n  local:\n    dir: /opt/k8s\n  cniPlugins:\n    url: https://m.example.com/cni\nruntime:\n  kind: containerd\n",
			"kubernetes.cniPlugins.url", "ignored: kubernetes.cniPlugins.source is distro"},
		{"runtime directory of another source", header + "base:\n  distro: ubuntu\n  release: \"24.04\"\nruntime:\n  kind: cri-o\n  local:\n    dir: /opt/crio\n",
			"runtime.local.dir", "ignored: runtime.source is upstream"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := decode(t, tc.doc)
			require.NoError(t, err, l.Report.String())
			found := false
			for _, w := range l.Report.Warnings() {
				found = found || (w.Path == tc.path && strings.Contains(w.Message, tc.msg))
			}
			assert.True(t, found, "want warning %s: %s in\n%s", tc.path, tc.msg, l.Report.String())
		})
	}
}

func TestBuiltinsValid(t *testing.T) {
	t.Parallel()
	names := recipes.BuiltinNames()
	for _, want := range []string{
		"ubuntu-24.04-containerd", "ubuntu-24.04-cri-o", "ubuntu-24.04-docker", "ubuntu-22.04-containerd",
		"debian-13-containerd", "debian-13-docker", "debian-13-cri-o", "centos-stream-9-containerd", "centos-stream-9-cri-o",
		"rocky-9-cri-o", "fedora-coreos-cri-o", "fedora-coreos-containerd",
	} {
		assert.Contains(t, names, want)
	}
	for _, name := range names {
		l, err := recipes.Load(name)
		require.NoError(t, err, name)
		assert.Empty(t, l.Report.Errors(), name)
		assert.Equal(t, name, l.Recipe.Metadata.Name)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	l, err := decode(t, header+"base:\n  distro: centos-stream\n  release: \"9\"\nruntime:\n  kind: cri-o\nnode:\n  kernelModules: [ip_vs]\n  sysctls:\n    vm.max_map_count: \"262144\"\n")
	require.NoError(t, err, l.Report.String())
	r := l.Recipe
	assert.Equal(t, recipes.DefaultKubernetesVersion(), r.Kubernetes.Version)
	v, _ := recipes.ParseVersion(r.Kubernetes.Version)
	assert.Equal(t, v.MinorString(), r.Runtime.Version, "CRI-O follows the Kubernetes minor")
	assert.Equal(t, "upstream", r.Runtime.Source)
	assert.Equal(t, "packages", r.Kubernetes.Source)
	assert.Equal(t, []string{"ip_vs", "overlay", "br_netfilter"}, r.Node.KernelModules)
	assert.Equal(t, "1", r.Node.Sysctls["net.ipv4.ip_forward"])
	assert.Equal(t, "262144", r.Node.Sysctls["vm.max_map_count"])
	assert.Equal(t, "permissive", r.Node.SELinux)
	assert.Equal(t, "amd64", r.Base.Arch)
	assert.True(t, recipes.Bool(r.Node.DisableSwap, false))
	assert.Equal(t, "recipe", r.Metadata.Name)
	assert.Contains(t, r.Runtime.SandboxImage, "registry.k8s.io/pause:")
}

func TestFromOverrides(t *testing.T) {
	t.Parallel()
	l, err := decode(t, header+"from: ubuntu-24.04-containerd\nmetadata:\n  name: edge\nkubernetes:\n  version: v1.35.4\nnode:\n  sysctls:\n    vm.swappiness: \"0\"\n")
	require.NoError(t, err, l.Report.String())
	r := l.Recipe
	assert.Equal(t, "edge", r.Metadata.Name)
	assert.Equal(t, "ubuntu", r.Base.Distro, "inherited")
	assert.Equal(t, "containerd", r.Runtime.Kind, "inherited")
	assert.Equal(t, "v1.35.4", r.Kubernetes.Version, "overridden")
	assert.Equal(t, "registry.k8s.io/pause:3.10.1", r.Runtime.SandboxImage, "pause follows the overridden version")
	assert.Equal(t, "0", r.Node.Sysctls["vm.swappiness"])

	// An error in an inherited field points at the user's from line.
	l, err = decode(t, header+"from: ubuntu-24.04-cri-o\nkubernetes:\n  version: v1.36.3\nruntime:\n  version: \"1.35\"\n")
	require.Error(t, err)
	require.Len(t, l.Report.Errors(), 1, l.Report.String())
	assert.Equal(t, "recipe.yaml:7:12", l.Report.Errors()[0].Pos.String())
}

// hostile values that must never reach a shell as code.
var hostile = []string{
	"$(reboot)", "`reboot`", "x; reboot", "x && reboot", "x | reboot", "x\nreboot", "x'y", `x"y`, "${IFS}reboot", "-rf /",
}

// TestHostileValues puts each hostile value into every field that reaches a
// shell script and requires validation to reject it at that field.
func TestHostileValues(t *testing.T) {
	t.Parallel()
	fields := []struct {
		path string
		doc  func(v string) string
	}{
		{"metadata.name", func(v string) string { return "metadata:\n  name: " + q(v) + "\n" }},
		{"kubernetes.version", func(v string) string { return "kubernetes:\n  version: " + q(v) + "\n" }},
		{"kubernetes.crictlVersion", func(v string) string { return "kubernetes:\n  crictlVersion: " + q(v) + "\n" }},
		{"kubernetes.local.dir", func(v string) string {
			return "kubernetes:\n  source: local\n  local:\n    dir: " + q("/opt/"+v) + "\n"
		}},
		{"kubernetes.binaries.url", func(v string) string {
			return "kubernetes:\n  source: binaries\n  binaries:\n    url: " + q("https://dl.example.com/"+v) + "\n"
		}},
		{"kubernetes.binaries.sha256[kubeadm]", func(v string) string {
			return "kubernetes:\n  source: binaries\n  binaries:\n    sha256:\n      kubeadm: " + q(v) + "\n"
		}},
		{"kubernetes.cniPlugins.version", func(v string) string {
			return "kubernetes:\n  source: binaries\n  cniPlugins:\n    source: binaries\n    version: " + q(v) + "\n"
		}},
		{"runtime.version", func(v string) string { return "runtime:\n  version: " + q(v) + "\n" }},
		{"runtime.sandboxImage", func(v string) string { return "runtime:\n  sandboxImage: " + q("registry.k8s.io/pause:"+v) + "\n" }},
		{"runtime.mirrors[0].registry", func(v string) string {
			return "runtime:\n  mirrors:\n  - registry: " + q(v) + "\n    endpoints: [\"https://m.example.com\"]\n"
		}},
		{"runtime.mirrors[0].endpoints[0]", func(v string) string {
			return "runtime:\n  mirrors:\n  - registry: docker.io\n    endpoints: [" + q("https://m.example.com/"+v) + "]\n"
		}},
		{"node.kernelModules[0]", func(v string) string { return "node:\n  kernelModules: [" + q(v) + "]\n" }},
		{"node.sysctls[vm.swappiness]", func(v string) string { return "node:\n  sysctls:\n    vm.swappiness: " + q(v) + "\n" }},
		{"node.packages[0]", func(v string) string { return "node:\n  packages: [" + q(v) + "]\n" }},
		{"node.files[0].path", func(v string) string {
			return "node:\n  files:\n  - path: " + q("/etc/"+v) + "\n    content: x\n"
		}},
		{"node.files[0].mode", func(v string) string {
			return "node:\n  files:\n  - path: /etc/x\n    mode: " + q(v) + "\n"
		}},
		{"node.files[0].owner", func(v string) string {
			return "node:\n  files:\n  - path: /etc/x\n    owner: " + q(v) + "\n"
		}},
		{"node.firewall.ports[0]", func(v string) string {
			return "node:\n  firewall:\n    mode: open\n    ports: [" + q("6443/"+v) + "]\n"
		}},
		{"images.extra[0].name", func(v string) string { return "images:\n  extra:\n  - name: " + q("nginx:"+v) + "\n" }},
		{"images.extra[0].digest", func(v string) string {
			return "images:\n  extra:\n  - name: nginx:1.27\n    digest: " + q("sha256:"+v) + "\n"
		}},
		{"hooks.before[0].name", func(v string) string { return "hooks:\n  before:\n  - name: " + q(v) + "\n    run: echo\n" }},
	}
	for _, f := range fields {
		for i, v := range hostile {
			t.Run(fmt.Sprintf("%s/%d", f.path, i), func(t *testing.T) {
				t.Parallel()
				doc := header + "from: ubuntu-24.04-containerd\n" + f.doc(v)
				if strings.HasPrefix(f.path, "runtime.version") {
					doc = header + "from: ubuntu-24.04-docker\n" + f.doc(v)
				}
				l, err := recipes.Decode("recipe.yaml", []byte(doc))
				require.Error(t, err, "%q in %s was accepted", v, f.path)
				paths := []string{}
				for _, e := range l.Report.Errors() {
					paths = append(paths, e.Path)
				}
				assert.Contains(t, paths, f.path, "%q in %s:\n%s", v, f.path, l.Report.String())
			})
		}
	}
}

// q quotes a value as a YAML double-quoted string.
func q(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) + `"`
}
