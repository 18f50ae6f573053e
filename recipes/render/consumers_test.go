package render_test

// Consumer tests: every file kubebake renders is handed to the program that
// reads it on a node (containerd, dockerd, systemd, shellcheck for bash,
// Ignition) or, where that program cannot run here, decoded strictly into
// the consumer's own types or into typed structs of its documented keys.
// They run for every built-in recipe and for extra recipes that exercise
// mirrors, runtime drop-ins, binaries, firewall, images, files and hooks.
//
// The real binaries come from hack/validators.sh (_build/validators/bin,
// else PATH). A missing one skips its check, unless
// KUBEBAKE_REQUIRE_VALIDATORS=1, which makes it a failure.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubebake/kubebake/api"

	ignition "github.com/coreos/ignition/v2/config/v3_5"
	toml "github.com/pelletier/go-toml/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vincent-petithory/dataurl"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// consumerRequireEnv makes a missing consumer binary a failure.
const consumerRequireEnv = "KUBEBAKE_REQUIRE_VALIDATORS"

// consumerTimeout bounds every consumer run.
const consumerTimeout = 2 * time.Minute

// ---------------------------------------------------------------------------
// Recipes under test.

// consumerExtraRecipes start from built-ins and exercise what the built-ins
// leave out. Hook bodies and file contents are the user's; they are written
// to be clean so that any finding is kubebake's.
var consumerExtraRecipes = []struct {
	name string
	doc  string
}{
	{
		name: "containerd-mirrors-dropin",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-containerd-mirrors-dropin
from: ubuntu-24.04-containerd
runtime:
  mirrors:
  - registry: docker.io
    endpoints:
    - https://mirror.gcr.io
    - https://registry-mirror.example.com/cache/
  - registry: registry.k8s.io
    endpoints:
    - https://k8s-mirror.example.com
  config: |
    [plugins."io.containerd.grpc.v1.cri"]
      enable_unprivileged_ports = true
images:
  extra:
  - name: docker.io/library/busybox:1.36.1
    digest: sha256:1111111111111111111111111111111111111111111111111111111111111111
  - name: quay.io/cilium/cilium:v1.16.5
`,
	},
	{
		// The drop-in alone, so that a fault in the mirrors cannot hide it.
		name: "containerd-dropin",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-containerd-dropin
from: debian-13-containerd
runtime:
  config: |
    [plugins."io.containerd.grpc.v1.cri"]
      enable_unprivileged_ports = true
images:
  archives:
  - /var/cache/kubebake/images/v1.36.3/kube-apiserver.tar
  - /var/cache/kubebake/images/v1.36.3/pause.tar
`,
	},
	{
		name: "cri-o-mirrors-dropin",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-cri-o-mirrors-dropin
from: ubuntu-24.04-cri-o
runtime:
  mirrors:
  - registry: docker.io
    endpoints:
    - http://10.0.0.5:5000
    - https://mirror.gcr.io
  - registry: registry.k8s.io
    endpoints:
    - https://k8s-mirror.example.com/k8s/
  config: |
    [crio.runtime]
    log_level = "debug"
images:
  extra:
  - name: docker.io/library/busybox:1.36.1
    digest: sha256:2222222222222222222222222222222222222222222222222222222222222222
`,
	},
	{
		name: "docker-mirror-config",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-docker-mirror-config
from: ubuntu-24.04-docker
runtime:
  mirrors:
  - registry: docker.io
    endpoints:
    - https://mirror.gcr.io
  config: '{"max-concurrent-downloads": 5, "log-opts": {"max-size": "50m", "max-file": "3"}}'
  criDockerd:
    sha256: "3333333333333333333333333333333333333333333333333333333333333333"
images:
  archives:
  - /srv/images/agent.tar
node:
  files:
  - path: /etc/example/settings.yaml
    content: |
      greeting: hello
hooks:
  after:
  - name: docker-info
    run: |
      if command -v docker >/dev/null; then
        docker info --format '{{.CgroupDriver}}' || true
      fi
`,
	},
	{
		name: "binaries-pinned",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-binaries-pinned
from: ubuntu-24.04-containerd
kubernetes:
  source: binaries
  binaries:
    sha256:
      kubeadm: "4444444444444444444444444444444444444444444444444444444444444444"
      kubelet: "5555555555555555555555555555555555555555555555555555555555555555"
      kubectl: "6666666666666666666666666666666666666666666666666666666666666666"
`,
	},
	{
		name: "firewall-open-ubuntu",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-firewall-open-ubuntu
from: ubuntu-22.04-containerd
node:
  firewall:
    mode: open
`,
	},
	{
		name: "firewall-open-centos",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-firewall-open-centos
from: centos-stream-9-containerd
node:
  firewall:
    mode: open
    ports:
    - 6443/tcp
    - 10250/tcp
    - 30000-32767/tcp
    - 8472/udp
`,
	},
	{
		name: "kitchen-sink-rocky",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-kitchen-sink-rocky
from: rocky-9-cri-o
node:
  selinux: enforcing
  kernelModules:
  - ip_vs
  sysctls:
    vm.max_map_count: "262144"
  packages:
  - jq
  - vim-enhanced
  files:
  - path: /usr/local/bin/example-agent
    mode: "0755"
    content: |
      #!/bin/sh
      exec sleep infinity
  - path: /etc/systemd/system/example-agent.service
    content: |
      [Unit]
      Description=Example agent placed by node.files
      Wants=network-online.target
      After=network-online.target

      [Service]
      ExecStart=/usr/local/bin/example-agent
      Restart=on-failure

      [Install]
      WantedBy=multi-user.target
  - path: /etc/example/blob.bin
    mode: "0600"
    owner: nobody:nobody
    encoding: base64
    content: AAEC/f7/
images:
  extra:
  - name: quay.io/cilium/cilium:v1.16.5
    digest: sha256:7777777777777777777777777777777777777777777777777777777777777777
hooks:
  before:
  - name: show-kernel
    run: |
      echo "kernel: $(uname -r)"
  after:
  - name: mark-baked
    run: |
      install -d -m 0755 /etc/example
      date -u +%Y-%m-%dT%H:%M:%SZ >/etc/example/baked-at
`,
	},
	{
		name: "fcos-binaries-files-hooks",
		doc: `apiVersion: kubebake.dev/v1alpha1
kind: Recipe
metadata:
  name: extra-fcos-binaries-files-hooks
from: fedora-coreos-containerd
kubernetes:
  source: binaries
  binaries:
    sha256:
      kubelet: "8888888888888888888888888888888888888888888888888888888888888888"
node:
  files:
  - path: /etc/example/settings.yaml
    content: |
      greeting: hello
  - path: /etc/example/blob.bin
    mode: "0600"
    encoding: base64
    content: AAEC/f7/
images:
  extra:
  - name: quay.io/cilium/cilium:v1.16.5
    digest: sha256:9999999999999999999999999999999999999999999999999999999999999999
hooks:
  after:
  - name: mark-baked
    run: |
      install -d -m 0755 /etc/example
      date -u +%Y-%m-%dT%H:%M:%SZ >/etc/example/baked-at
`,
	},
}

type consumerCase struct {
	name string
	load func() (*recipes.Loaded, error)
}

func consumerCases() []consumerCase {
	var out []consumerCase
	for _, name := range recipes.BuiltinNames() {
		out = append(out, consumerCase{name: name, load: func() (*recipes.Loaded, error) { return recipes.Load(name) }})
	}
	for _, e := range consumerExtraRecipes {
		out = append(out, consumerCase{name: "extra-" + e.name, load: func() (*recipes.Loaded, error) {
			return recipes.Decode("extra-"+e.name+".yaml", []byte(e.doc))
		}})
	}
	return out
}

// consumerPlan is one rendered and written plan.
type consumerPlan struct {
	loaded *recipes.Loaded
	plan   *render.Plan
	dir    string
	files  map[string]render.File
	// ign is the decoded Ignition config of a Fedora CoreOS plan.
	ign *consumerIgnition
}

func (cp *consumerPlan) rootfs(p string) string {
	return filepath.Join(cp.dir, "rootfs", filepath.FromSlash(p))
}

func (cp *consumerPlan) file(t *testing.T, p string) render.File {
	t.Helper()
	f, ok := cp.files[p]
	require.True(t, ok, "the plan places no %s", p)
	return f
}

// filesUnder lists the plan's files below dir, in plan order.
func (cp *consumerPlan) filesUnder(dir string) []render.File {
	var out []render.File
	for _, f := range cp.plan.Files {
		if strings.HasPrefix(f.Path, dir+"/") {
			out = append(out, f)
		}
	}
	return out
}

func consumerRender(t *testing.T, rn *render.Renderer, c consumerCase) *consumerPlan {
	t.Helper()
	l, err := c.load()
	if l != nil {
		require.NoError(t, err, "recipe report:\n%s", l.Report.String())
	} else {
		require.NoError(t, err)
	}
	p, err := rn.Render(l)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "plan")
	require.NoError(t, render.Write(p, dir))
	cp := &consumerPlan{loaded: l, plan: p, dir: dir, files: map[string]render.File{}}
	for _, f := range p.Files {
		cp.files[f.Path] = f
	}
	return cp
}

// ---------------------------------------------------------------------------
// Consumer binaries.

type consumerTool struct {
	path    string
	version string
	why     string // why there is none
}

var (
	consumerToolsMu sync.Mutex
	consumerTools   = map[string]*consumerTool{}
)

// consumerRepoRoot is the directory holding go.mod.
func consumerRepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// lookupConsumer finds a consumer binary: _build/validators/bin first, then
// PATH; a candidate must run and, for dockerd, know --validate.
func lookupConsumer(name string) *consumerTool {
	consumerToolsMu.Lock()
	defer consumerToolsMu.Unlock()
	if tool, ok := consumerTools[name]; ok {
		return tool
	}
	var candidates []string
	if root := consumerRepoRoot(); root != "" {
		candidates = append(candidates, filepath.Join(root, "_build", "validators", "bin", name))
	}
	if p, err := exec.LookPath(name); err == nil {
		candidates = append(candidates, p)
	}
	tool := &consumerTool{why: "not found in _build/validators/bin or PATH"}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			continue
		}
		out, _, err := consumerRun(c, "--version")
		if err != nil {
			tool.why = fmt.Sprintf("%s --version: %v", c, err)
			continue
		}
		if name == "dockerd" {
			help, helpErr, _ := consumerRun(c, "--help")
			if !strings.Contains(help+helpErr, "--validate") {
				tool.why = fmt.Sprintf("%s (%s) has no --validate: it needs Docker 23 or later", c, strings.TrimSpace(out))
				continue
			}
		}
		tool.path, tool.version, tool.why = c, consumerFirstLine(out), ""
		break
	}
	consumerTools[name] = tool
	return tool
}

// consumerBinary returns the path of a consumer, or skips (fails under
// KUBEBAKE_REQUIRE_VALIDATORS=1) when there is none.
func consumerBinary(t *testing.T, name string) string {
	t.Helper()
	tool := lookupConsumer(name)
	if tool.path == "" {
		msg := fmt.Sprintf("%s is not available (%s): run hack/validators.sh", name, tool.why)
		if os.Getenv(consumerRequireEnv) == "1" {
			t.Fatalf("%s; %s=1 requires every consumer", msg, consumerRequireEnv)
		}
		t.Skip(msg)
	}
	return tool.path
}

// consumerFirstLine is the version line of --version output: the first
// line, or shellcheck's "version: X".
func consumerFirstLine(s string) string {
	s = strings.TrimSpace(s)
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(line, "version: "); ok {
			return "version " + strings.TrimSpace(v)
		}
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// consumerRun runs a consumer and returns its stdout and stderr.
func consumerRun(name string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), consumerTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=", "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// ---------------------------------------------------------------------------
// The test.

type consumerCheck struct {
	name    string
	applies func(cp *consumerPlan) bool
	run     func(t *testing.T, cp *consumerPlan)
}

func consumerChecks() []consumerCheck {
	always := func(*consumerPlan) bool { return true }
	kind := func(k string) func(cp *consumerPlan) bool {
		return func(cp *consumerPlan) bool { return cp.plan.Runtime.Kind == k }
	}
	return []consumerCheck{
		{"plan.json", always, checkConsumerPlanJSON},
		{"image.json", always, checkConsumerImageJSON},
		{"containerd config dump", kind(recipes.RuntimeContainerd), checkConsumerContainerd},
		{"containerd hosts.toml", kind(recipes.RuntimeContainerd), checkConsumerContainerdHosts},
		{"dockerd validate", kind(recipes.RuntimeDocker), checkConsumerDocker},
		{"cri-o drop-ins", kind(recipes.RuntimeCRIO), checkConsumerCRIO},
		{"cri-o registries.conf.d", kind(recipes.RuntimeCRIO), checkConsumerRegistries},
		{"kubelet config drop-in", always, checkConsumerKubelet},
		{"crictl.yaml", always, checkConsumerCrictl},
		{"ignition", func(cp *consumerPlan) bool { return cp.plan.Family == recipes.FamilyFCOS }, checkConsumerIgnition},
		{"systemd-analyze verify", always, checkConsumerSystemd},
		{"shellcheck", always, checkConsumerShellcheck},
	}
}

// TestConsumers renders every built-in recipe and the extra recipes, writes
// each plan, and hands every rendered file to its consumer.
func TestConsumers(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"containerd", "dockerd", "systemd-analyze", "shellcheck"} {
		if tool := lookupConsumer(name); tool.path != "" {
			t.Logf("consumer %s: %s (%s)", name, tool.version, tool.path)
		} else {
			t.Logf("consumer %s: missing: %s", name, tool.why)
		}
	}
	rn, err := render.New()
	require.NoError(t, err)
	for _, c := range consumerCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cp := consumerRender(t, rn, c)
			for _, check := range consumerChecks() {
				if !check.applies(cp) {
					continue
				}
				t.Run(check.name, func(t *testing.T) { check.run(t, cp) })
			}
		})
	}
}

// ---------------------------------------------------------------------------
// plan.json and image.json.

func checkConsumerPlanJSON(t *testing.T, cp *consumerPlan) {
	raw, err := os.ReadFile(filepath.Join(cp.dir, "plan.json"))
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var got render.Plan
	require.NoError(t, dec.Decode(&got), "plan.json does not decode into render.Plan")

	want := *cp.plan
	want.Butane, want.Ignition = nil, nil
	want.Files = append([]render.File(nil), cp.plan.Files...)
	for i := range want.Files {
		want.Files[i].Content = nil
	}
	want.Steps = append([]render.Step(nil), cp.plan.Steps...)
	for i := range want.Steps {
		want.Steps[i].Body = nil
	}
	require.Equal(t, want, got, "plan.json does not round-trip")

	// Everything written is listed, and everything listed is written with
	// its content, size, digest and mode.
	listed := map[string]bool{"plan.json": true}
	for _, s := range got.Steps {
		listed[s.Script] = true
		body := consumerStep(t, cp, s.Name).Body
		consumerAssertWritten(t, filepath.Join(cp.dir, filepath.FromSlash(s.Script)), body, 0o755)
		for _, p := range s.Files {
			assert.Contains(t, cp.files, p, "step %s places %s, which plan.json does not list", s.Name, p)
		}
	}
	for _, f := range got.Files {
		listed["rootfs"+f.Path] = true
		content := cp.files[f.Path].Content
		assert.Equal(t, len(content), f.Size, "%s: size", f.Path)
		assert.Equal(t, consumerSHA256(content), f.SHA256, "%s: sha256", f.Path)
		mode, err := strconv.ParseUint(f.Mode, 8, 32)
		require.NoError(t, err, "%s: mode %q", f.Path, f.Mode)
		consumerAssertWritten(t, cp.rootfs(f.Path), content, fs.FileMode(mode)&fs.ModePerm)
	}
	if cp.plan.Family == recipes.FamilyFCOS {
		listed["config.bu"], listed["config.ign"] = true, true
	}
	err = filepath.WalkDir(cp.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(cp.dir, p)
		assert.True(t, listed[filepath.ToSlash(rel)], "%s is written but plan.json does not list it", rel)
		return nil
	})
	require.NoError(t, err)
}

func consumerStep(t *testing.T, cp *consumerPlan, name string) render.Step {
	t.Helper()
	for _, s := range cp.plan.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %s", name)
	return render.Step{}
}

func consumerAssertWritten(t *testing.T, p string, content []byte, mode fs.FileMode) {
	t.Helper()
	got, err := os.ReadFile(p)
	if !assert.NoError(t, err) {
		return
	}
	assert.Equal(t, string(content), string(got), "%s: content", p)
	fi, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, mode, fi.Mode().Perm(), "%s: mode", p)
}

func consumerSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func checkConsumerImageJSON(t *testing.T, cp *consumerPlan) {
	f := cp.file(t, "/etc/kubebake/image.json")
	var info api.ImageInfo
	dec := json.NewDecoder(bytes.NewReader(f.Content))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&info))
	assert.Equal(t, cp.plan.Runtime.Endpoint, info.CRISocket)
	assert.Equal(t, "systemd", info.CgroupDriver)
	assert.Equal(t, cp.plan.Runtime.SandboxImage, info.SandboxImage)
	assert.Equal(t, cp.plan.Kubernetes.Version, info.KubernetesVersion)
	assert.Equal(t, cp.plan.Runtime.Kind, info.Runtime)
	assert.Equal(t, cp.plan.Images, info.Images)
}

// ---------------------------------------------------------------------------
// containerd.

const consumerCRIPlugin = "io.containerd.grpc.v1.cri"

func checkConsumerContainerd(t *testing.T, cp *consumerPlan) {
	bin := consumerBinary(t, "containerd")
	cfg := cp.file(t, "/etc/containerd/config.toml")
	var head struct {
		Version int      `toml:"version"`
		Imports []string `toml:"imports"`
	}
	require.NoError(t, toml.Unmarshal(cfg.Content, &head), "config.toml is not TOML")
	assert.Equal(t, 2, head.Version, "config.toml version")
	// containerd's imports replace whole plugin sections, so the recipe's
	// runtime.config is merged into config.toml itself, never imported.
	assert.Empty(t, head.Imports, "config.toml must not import drop-ins")
	cfgPath := cp.rootfs("/etc/containerd/config.toml")

	stdout, stderr, err := consumerRun(bin, "--config", cfgPath, "config", "dump")
	require.NoError(t, err, "containerd config dump rejects /etc/containerd/config.toml:\n%s%s", stderr, stdout)
	if strings.TrimSpace(stderr) != "" {
		t.Logf("containerd config dump stderr:\n%s", stderr)
	}
	var dump map[string]any
	require.NoError(t, toml.Unmarshal([]byte(stdout), &dump), "containerd's dump is not TOML:\n%s", stdout)

	cri := []string{"plugins", consumerCRIPlugin}
	at := func(keys ...string) []string { return append(append([]string{}, cri...), keys...) }
	assert.Equal(t, true, consumerDig(dump, at("containerd", "runtimes", "runc", "options", "SystemdCgroup")...),
		"containerd's effective config does not have SystemdCgroup = true")
	assert.Equal(t, cp.plan.Runtime.SandboxImage, consumerDig(dump, at("sandbox_image")...),
		"containerd's effective sandbox_image")
	assert.Equal(t, "/etc/containerd/certs.d", consumerDig(dump, at("registry", "config_path")...),
		"containerd's effective registry config_path")
	assert.Equal(t, "runc", consumerDig(dump, at("containerd", "default_runtime_name")...))
	assert.Equal(t, "io.containerd.runc.v2", consumerDig(dump, at("containerd", "runtimes", "runc", "runtime_type")...))

	// Every setting of the recipe's runtime.config is in effect.
	if user := cp.loaded.Recipe.Runtime.Config; user != "" {
		var m map[string]any
		require.NoError(t, toml.Unmarshal([]byte(user), &m), "runtime.config is not TOML")
		leaves := consumerLeaves(nil, m)
		require.NotEmpty(t, leaves)
		for _, leaf := range leaves {
			if len(leaf.keys) == 1 && leaf.keys[0] == "version" {
				continue
			}
			assert.Equal(t, leaf.value, consumerDig(dump, leaf.keys...),
				"runtime.config sets %s, but containerd's effective config differs", strings.Join(leaf.keys, "."))
		}
	}
}

type consumerLeaf struct {
	keys  []string
	value any
}

func consumerLeaves(prefix []string, m map[string]any) []consumerLeaf {
	var out []consumerLeaf
	for k, v := range m {
		keys := append(append([]string{}, prefix...), k)
		if sub, ok := v.(map[string]any); ok {
			out = append(out, consumerLeaves(keys, sub)...)
			continue
		}
		out = append(out, consumerLeaf{keys: keys, value: v})
	}
	return out
}

func consumerDig(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

// consumerContainerdHosts holds the documented keys of containerd's hosts.toml
// (docs/hosts.md): the server's own settings and [host."URL"] tables.
type consumerContainerdHosts struct {
	Server       string                            `toml:"server"`
	Capabilities []string                          `toml:"capabilities"`
	CA           any                               `toml:"ca"`
	Client       any                               `toml:"client"`
	SkipVerify   *bool                             `toml:"skip_verify"`
	Header       map[string]any                    `toml:"header"`
	OverridePath *bool                             `toml:"override_path"`
	Host         map[string]consumerContainerdHost `toml:"host"`
}

type consumerContainerdHost struct {
	Capabilities []string       `toml:"capabilities"`
	CA           any            `toml:"ca"`
	Client       any            `toml:"client"`
	SkipVerify   *bool          `toml:"skip_verify"`
	Header       map[string]any `toml:"header"`
	OverridePath *bool          `toml:"override_path"`
}

var consumerHostTableRE = regexp.MustCompile(`(?m)^\[host\.("(?:[^"\\]|\\.)*")\]\s*$`)

func checkConsumerContainerdHosts(t *testing.T, cp *consumerPlan) {
	const dir = "/etc/containerd/certs.d"
	mirrors := cp.loaded.Recipe.Runtime.Mirrors
	placed := cp.filesUnder(dir)
	assert.Len(t, placed, len(mirrors), "one hosts.toml per mirrored registry")
	for _, m := range mirrors {
		t.Run(m.Registry, func(t *testing.T) {
			f := cp.file(t, dir+"/"+m.Registry+"/hosts.toml")
			var h consumerContainerdHosts
			dec := toml.NewDecoder(bytes.NewReader(f.Content))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&h), "%s", f.Path)

			server := "https://" + m.Registry
			if m.Registry == "docker.io" {
				server = "https://registry-1.docker.io"
			}
			assert.Equal(t, server, h.Server, "server")
			var want []string
			for _, e := range m.Endpoints {
				want = append(want, strings.TrimSuffix(e, "/"))
			}
			// containerd tries hosts in file order: check it on the text.
			var order []string
			for _, mm := range consumerHostTableRE.FindAllStringSubmatch(string(f.Content), -1) {
				u, err := strconv.Unquote(mm[1])
				require.NoError(t, err)
				order = append(order, u)
			}
			assert.Equal(t, want, order, "host tables, in order")
			require.Len(t, h.Host, len(want))
			for _, e := range want {
				host, ok := h.Host[e]
				if !assert.True(t, ok, "no [host.%q]", e) {
					continue
				}
				u, err := url.Parse(e)
				require.NoError(t, err)
				assert.Contains(t, []string{"http", "https"}, u.Scheme)
				assert.NotEmpty(t, u.Host)
				assert.ElementsMatch(t, []string{"pull", "resolve"}, host.Capabilities, "%s capabilities", e)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Docker.

func checkConsumerDocker(t *testing.T, cp *consumerPlan) {
	bin := consumerBinary(t, "dockerd")
	f := cp.file(t, "/etc/docker/daemon.json")
	stdout, stderr, err := consumerRun(bin, "--validate", "--config-file", cp.rootfs(f.Path))
	require.NoError(t, err, "dockerd --validate rejects /etc/docker/daemon.json:\n%s%s\n%s", stderr, stdout, f.Content)
	assert.Contains(t, stdout+stderr, "configuration OK")

	var cfg map[string]any
	require.NoError(t, json.Unmarshal(f.Content, &cfg))
	assert.Equal(t, []any{"native.cgroupdriver=systemd"}, cfg["exec-opts"])
	var want []any
	for _, m := range cp.loaded.Recipe.Runtime.Mirrors {
		if m.Registry != "docker.io" {
			continue
		}
		for _, e := range m.Endpoints {
			want = append(want, strings.TrimSuffix(e, "/"))
		}
	}
	if want == nil {
		assert.NotContains(t, cfg, "registry-mirrors")
	} else {
		assert.Equal(t, want, cfg["registry-mirrors"], "registry-mirrors")
	}
	if user := cp.loaded.Recipe.Runtime.Config; strings.TrimSpace(user) != "" {
		var u map[string]any
		require.NoError(t, json.Unmarshal([]byte(user), &u))
		for k, v := range u {
			assert.Equal(t, v, cfg[k], "runtime.config sets %s", k)
		}
	}
}

// ---------------------------------------------------------------------------
// CRI-O.

// consumerCRIODropIn holds the documented crio.conf(5) keys kubebake and the extra
// recipes set; strict decoding rejects any other, including typos.
type consumerCRIODropIn struct {
	Crio struct {
		Runtime *struct {
			CgroupManager  string `toml:"cgroup_manager"`
			ConmonCgroup   string `toml:"conmon_cgroup"`
			DefaultRuntime string `toml:"default_runtime"`
			LogLevel       string `toml:"log_level"`
		} `toml:"runtime"`
		Image *struct {
			PauseImage   string   `toml:"pause_image"`
			PinnedImages []string `toml:"pinned_images"`
		} `toml:"image"`
		Network *struct {
			NetworkDir string   `toml:"network_dir"`
			PluginDirs []string `toml:"plugin_dirs"`
		} `toml:"network"`
	} `toml:"crio"`
}

func consumerStrictTOML(data []byte, v any) error {
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) {
		return fmt.Errorf("%w\n%s", err, sm.String())
	}
	return err
}

func checkConsumerCRIO(t *testing.T, cp *consumerPlan) {
	dropIns := cp.filesUnder("/etc/crio/crio.conf.d")
	require.NotEmpty(t, dropIns)
	for _, f := range dropIns {
		t.Run(path.Base(f.Path), func(t *testing.T) {
			assert.True(t, strings.HasSuffix(f.Path, ".conf"), "CRI-O reads *.conf drop-ins")
			var c consumerCRIODropIn
			require.NoError(t, consumerStrictTOML(f.Content, &c), "%s", f.Path)
		})
	}
	var c consumerCRIODropIn
	require.NoError(t, consumerStrictTOML(cp.file(t, "/etc/crio/crio.conf.d/10-kubebake.conf").Content, &c))
	require.NotNil(t, c.Crio.Runtime)
	require.NotNil(t, c.Crio.Image)
	require.NotNil(t, c.Crio.Network)
	assert.Equal(t, "systemd", c.Crio.Runtime.CgroupManager)
	assert.Equal(t, "pod", c.Crio.Runtime.ConmonCgroup, "with cgroup_manager systemd, conmon_cgroup must be pod or a slice")
	assert.Equal(t, cp.plan.Runtime.SandboxImage, c.Crio.Image.PauseImage)
	var pinned []string
	for _, img := range cp.plan.Images {
		if img.Pinned {
			pinned = append(pinned, img.Name)
		}
	}
	assert.Equal(t, pinned, c.Crio.Image.PinnedImages, "pinned_images")
	assert.Equal(t, "/etc/cni/net.d/", c.Crio.Network.NetworkDir)
	assert.Contains(t, c.Crio.Network.PluginDirs, "/opt/cni/bin/")
	if cfg := cp.loaded.Recipe.Runtime.Config; strings.TrimSpace(cfg) != "" {
		user := cp.file(t, "/etc/crio/crio.conf.d/99-kubebake-user.conf")
		assert.Equal(t, cfg, string(user.Content))
		assert.Greater(t, path.Base(user.Path), "10-kubebake.conf", "the user's drop-in must sort after kubebake's")
	}
}

// consumerRegistriesConf holds the documented keys of
// containers-registries.conf(5) [[registry]] tables.
type consumerRegistriesConf struct {
	Registry []struct {
		Prefix             string `toml:"prefix"`
		Location           string `toml:"location"`
		Insecure           bool   `toml:"insecure"`
		Blocked            bool   `toml:"blocked"`
		MirrorByDigestOnly bool   `toml:"mirror-by-digest-only"`
		PullFromMirror     string `toml:"pull-from-mirror"`
		Mirror             []struct {
			Location       string `toml:"location"`
			Insecure       bool   `toml:"insecure"`
			PullFromMirror string `toml:"pull-from-mirror"`
		} `toml:"mirror"`
	} `toml:"registry"`
}

func checkConsumerRegistries(t *testing.T, cp *consumerPlan) {
	const p = "/etc/containers/registries.conf.d/10-kubebake-mirrors.conf"
	mirrors := cp.loaded.Recipe.Runtime.Mirrors
	if len(mirrors) == 0 {
		assert.NotContains(t, cp.files, p)
		return
	}
	var rc consumerRegistriesConf
	require.NoError(t, consumerStrictTOML(cp.file(t, p).Content, &rc), "%s", p)
	require.Len(t, rc.Registry, len(mirrors))
	for i, m := range mirrors {
		r := rc.Registry[i]
		assert.Equal(t, m.Registry, r.Prefix)
		assert.Equal(t, m.Registry, r.Location)
		assert.False(t, r.Insecure, "the registry itself stays secure")
		require.Len(t, r.Mirror, len(m.Endpoints))
		for j, e := range m.Endpoints {
			u, err := url.Parse(e)
			require.NoError(t, err)
			assert.Equal(t, u.Host+strings.TrimSuffix(u.Path, "/"), r.Mirror[j].Location, "mirror location of %s", e)
			assert.Equal(t, u.Scheme == "http", r.Mirror[j].Insecure, "insecure of %s", e)
		}
	}
}

// ---------------------------------------------------------------------------
// kubelet and crictl.

func checkConsumerKubelet(t *testing.T, cp *consumerPlan) {
	const dir = "/etc/kubernetes/kubelet.conf.d"
	dropIns := cp.filesUnder(dir)
	require.NotEmpty(t, dropIns, "no KubeletConfiguration drop-in")
	for _, f := range dropIns {
		t.Run(path.Base(f.Path), func(t *testing.T) {
			assert.True(t, strings.HasSuffix(f.Path, ".conf"), "kubelet reads only *.conf drop-ins")
			var kc kubeletv1beta1.KubeletConfiguration
			require.NoError(t, yaml.UnmarshalStrict(f.Content, &kc), "%s", f.Path)
			assert.Equal(t, "kubelet.config.k8s.io/v1beta1", kc.APIVersion)
			assert.Equal(t, "KubeletConfiguration", kc.Kind)
			assert.Equal(t, "systemd", kc.CgroupDriver)
			assert.Equal(t, cp.plan.Runtime.Endpoint, kc.ContainerRuntimeEndpoint)
		})
	}
	// kubelet is pointed at the drop-in directory.
	envFile := "/etc/default/kubelet"
	if cp.plan.Family != recipes.FamilyApt {
		envFile = "/etc/sysconfig/kubelet"
	}
	env := consumerEnvFile(t, cp.file(t, envFile).Content)
	assert.Contains(t, strings.Fields(env["KUBELET_EXTRA_ARGS"]), "--config-dir="+dir)
}

// consumerEnvFile parses a systemd EnvironmentFile of plain KEY=VALUE lines.
func consumerEnvFile(t *testing.T, b []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "environment file line %q has no '='", line)
		out[k] = strings.Trim(v, `"`)
	}
	return out
}

// consumerCrictlConfig holds the keys crictl reads from crictl.yaml.
type consumerCrictlConfig struct {
	RuntimeEndpoint   string `json:"runtime-endpoint"`
	ImageEndpoint     string `json:"image-endpoint"`
	Timeout           int    `json:"timeout"`
	Debug             bool   `json:"debug"`
	PullImageOnCreate bool   `json:"pull-image-on-create"`
	DisablePullOnRun  bool   `json:"disable-pull-on-run"`
}

func checkConsumerCrictl(t *testing.T, cp *consumerPlan) {
	var c consumerCrictlConfig
	require.NoError(t, yaml.UnmarshalStrict(cp.file(t, "/etc/crictl.yaml").Content, &c))
	assert.Equal(t, cp.plan.Runtime.Endpoint, c.RuntimeEndpoint)
	assert.Equal(t, cp.plan.Runtime.Endpoint, c.ImageEndpoint)
	assert.Positive(t, c.Timeout)
}

// ---------------------------------------------------------------------------
// Ignition.

type consumerIgnition struct {
	files map[string]consumerIgnitionFile
	units map[string]string
}

type consumerIgnitionFile struct {
	content []byte
	mode    int
}

// ignition parses config.ign with Ignition's own parser and decodes every
// file; it is cached on the plan for the systemd and shellcheck checks.
func (cp *consumerPlan) ignition(t *testing.T) *consumerIgnition {
	t.Helper()
	if cp.ign != nil {
		return cp.ign
	}
	raw, err := os.ReadFile(filepath.Join(cp.dir, "config.ign"))
	require.NoError(t, err)
	cfg, rep, err := ignition.Parse(raw)
	require.NoError(t, err, "Ignition rejects config.ign: %s", rep.String())
	require.False(t, rep.IsFatal(), "Ignition reports:\n%s", rep.String())
	if len(rep.Entries) > 0 {
		t.Logf("Ignition reports (not fatal):\n%s", rep.String())
	}
	ign := &consumerIgnition{files: map[string]consumerIgnitionFile{}, units: map[string]string{}}
	for _, f := range cfg.Storage.Files {
		var data []byte
		if f.Contents.Source != nil {
			du, err := dataurl.DecodeString(*f.Contents.Source)
			require.NoError(t, err, "%s: contents.source is not a data URL", f.Path)
			data = du.Data
		}
		if f.Contents.Compression != nil && *f.Contents.Compression != "" {
			require.Equal(t, "gzip", *f.Contents.Compression, "%s: compression", f.Path)
			zr, err := gzip.NewReader(bytes.NewReader(data))
			require.NoError(t, err, "%s", f.Path)
			data, err = io.ReadAll(zr)
			require.NoError(t, err, "%s", f.Path)
		}
		require.NotContains(t, ign.files, f.Path, "Ignition places %s twice", f.Path)
		require.NotNil(t, f.Mode, "%s has no mode", f.Path)
		ign.files[f.Path] = consumerIgnitionFile{content: data, mode: *f.Mode}
		assert.True(t, f.Overwrite != nil && *f.Overwrite, "%s: overwrite", f.Path)
	}
	for _, u := range cfg.Systemd.Units {
		require.NotNil(t, u.Contents, "unit %s has no contents", u.Name)
		ign.units[u.Name] = *u.Contents
	}
	cp.ign = ign
	return ign
}

func checkConsumerIgnition(t *testing.T, cp *consumerPlan) {
	ign := cp.ignition(t)
	want := map[string]bool{}
	for _, f := range cp.plan.Files {
		want[f.Path] = true
		got, ok := ign.files[f.Path]
		if !assert.True(t, ok, "Ignition does not place %s", f.Path) {
			continue
		}
		assert.Equal(t, string(f.Content), string(got.content), "%s: Ignition's content differs from the plan's", f.Path)
		mode, err := strconv.ParseUint(f.Mode, 8, 32)
		require.NoError(t, err)
		assert.Equal(t, int(mode), got.mode, "%s: mode", f.Path)
	}
	var stepPaths []string
	for _, s := range cp.plan.Steps {
		p := render.StepsDir + "/" + path.Base(s.Script)
		stepPaths = append(stepPaths, p)
		want[p] = true
		got, ok := ign.files[p]
		if !assert.True(t, ok, "Ignition does not place step %s", p) {
			continue
		}
		assert.Equal(t, string(s.Body), string(got.content), "%s", p)
		assert.Equal(t, 0o755, got.mode, "%s: mode", p)
	}
	const bake = "/usr/local/libexec/kubebake/bake"
	want[bake] = true
	if b, ok := ign.files[bake]; assert.True(t, ok, "Ignition does not place %s", bake) {
		assert.Equal(t, 0o755, b.mode)
		// The bake script runs every step, in order.
		at := 0
		for _, p := range stepPaths {
			i := strings.Index(string(b.content[at:]), p)
			if !assert.GreaterOrEqual(t, i, 0, "the bake script does not run %s (in order)", p) {
				break
			}
			at += i + len(p)
		}
	}
	for p := range ign.files {
		assert.True(t, want[p], "Ignition places %s, which the plan does not list", p)
	}
	assert.Contains(t, ign.units, "kubebake-bake.service")
}

// ---------------------------------------------------------------------------
// systemd.

// consumerUnitDirs are where unit files and their drop-in directories live.
var consumerUnitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}

var consumerUnitSuffixes = []string{".service", ".socket", ".timer", ".path", ".mount", ".automount", ".swap", ".target", ".slice"}

// consumerUnitKind says whether p is a unit file or a unit drop-in, and which
// unit it belongs to.
func consumerUnitKind(p string) (unit string, dropIn bool, ok bool) {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	for _, ud := range consumerUnitDirs {
		if dir == ud {
			for _, s := range consumerUnitSuffixes {
				if strings.HasSuffix(base, s) {
					return base, false, true
				}
			}
			return "", false, false
		}
		if path.Dir(dir) == ud && strings.HasSuffix(dir, ".d") && strings.HasSuffix(base, ".conf") {
			return strings.TrimSuffix(path.Base(dir), ".d"), true, true
		}
	}
	return "", false, false
}

// consumerHostUnitDir is where the host keeps systemd's own targets and
// slices, which every unit depends on.
func consumerHostUnitDir() string {
	for _, d := range []string{"/usr/lib/systemd/system", "/lib/systemd/system"} {
		if _, err := os.Stat(filepath.Join(d, "sysinit.target")); err == nil {
			return d
		}
	}
	return ""
}

// consumerSystemdRoot makes a root holding systemd's own targets and slices
// from the host and nothing else.
func consumerSystemdRoot(t *testing.T) string {
	t.Helper()
	hostDir := consumerHostUnitDir()
	if hostDir == "" {
		msg := "the host has no systemd unit directory with sysinit.target: run hack/validators.sh"
		if os.Getenv(consumerRequireEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	root := t.TempDir()
	dst := filepath.Join(root, "usr", "lib", "systemd", "system")
	require.NoError(t, os.MkdirAll(dst, 0o755))
	entries, err := os.ReadDir(hostDir)
	require.NoError(t, err)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".target") && !strings.HasSuffix(e.Name(), ".slice") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(hostDir, e.Name()))
		if err != nil || e.IsDir() {
			continue // a dangling link or a .wants directory
		}
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
	return root
}

func consumerPut(t *testing.T, root, p string, content []byte, mode fs.FileMode) {
	t.Helper()
	dst := filepath.Join(root, filepath.FromSlash(p))
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	require.NoError(t, os.WriteFile(dst, content, mode))
	require.NoError(t, os.Chmod(dst, mode))
}

// consumerVerify runs systemd-analyze verify on one unit in root and
// returns its findings about that unit, its drop-ins and what it pulls in.
// Every line of output is a finding, since systemd reports unknown keys and
// bad values as warnings and still exits 0. Lines about the units in others
// are left out, because those are verified on their own; a failing exit
// status that only such lines explain is theirs too.
func consumerVerify(bin, root, unit string, others map[string]bool) ([]string, error) {
	stdout, stderr, err := consumerRun(bin, "verify", "--root="+root, "--man=no", "--generators=no", unit)
	var findings []string
	theirs := 0
	for _, line := range strings.Split(stdout+"\n"+stderr, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if owner := consumerFindingOwner(root, line); owner != unit && others[owner] {
			theirs++
			continue
		}
		findings = append(findings, line)
	}
	if len(findings) > 0 {
		return findings, fmt.Errorf("systemd-analyze verify %s reports findings (exit: %v)", unit, err)
	}
	if err != nil && theirs == 0 {
		return nil, fmt.Errorf("systemd-analyze verify %s: %w", unit, err)
	}
	return nil, nil
}

// consumerFindingOwner names the unit a line of systemd-analyze's output is
// about: "ROOT/PATH:LINE: ..." is about the unit at PATH (or the unit of the
// drop-in at PATH), "UNIT: ..." about UNIT.
func consumerFindingOwner(root, line string) string {
	if rest, ok := strings.CutPrefix(line, root); ok {
		p, _, _ := strings.Cut(rest, ":")
		if unit, _, ok := consumerUnitKind(p); ok {
			return unit
		}
		return ""
	}
	if name, _, ok := strings.Cut(line, ": "); ok && !strings.ContainsAny(name, " /") {
		return name
	}
	return ""
}

var consumerExecRE = regexp.MustCompile(`(?m)^\s*Exec(?:Start|StartPre|StartPost|Reload|Stop|StopPost|Condition)\s*=\s*(.*)$`)

// consumerExecPaths lists the absolute executables a unit's Exec lines run.
func consumerExecPaths(unit []byte) []string {
	var out []string
	for _, m := range consumerExecRE.FindAllStringSubmatch(string(unit), -1) {
		cmd := strings.TrimLeft(strings.TrimSpace(m[1]), "@-:+!|")
		fields := strings.Fields(cmd)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], "/") {
			continue
		}
		out = append(out, fields[0])
	}
	return out
}

// consumerInstalls reports whether a step script installs exe: a line that
// runs install(1) with exe as its destination.
func consumerInstalls(steps []render.Step, exe string) bool {
	for _, s := range steps {
		for _, line := range strings.Split(string(s.Body), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 2 || fields[0] != "install" {
				continue
			}
			if strings.Trim(fields[len(fields)-1], `'"`) == exe {
				return true
			}
		}
	}
	return false
}

func checkConsumerSystemd(t *testing.T, cp *consumerPlan) {
	type placed struct {
		content []byte
		mode    fs.FileMode
	}
	// Every file the image gets: plan files, and on Fedora CoreOS whatever
	// Ignition places besides (the steps and the bake script).
	image := map[string]placed{}
	for _, f := range cp.plan.Files {
		mode, err := strconv.ParseUint(f.Mode, 8, 32)
		require.NoError(t, err)
		image[f.Path] = placed{f.Content, fs.FileMode(mode) & fs.ModePerm}
	}
	units := map[string][]byte{} // unit name -> content, for units the image gets
	dropIns := map[string]bool{} // unit names that get drop-ins
	var order []string           // units to verify
	add := func(name string) {
		for _, o := range order {
			if o == name {
				return
			}
		}
		order = append(order, name)
	}
	if cp.plan.Family == recipes.FamilyFCOS {
		ign := cp.ignition(t)
		for p, f := range ign.files {
			if _, ok := image[p]; !ok {
				image[p] = placed{f.content, fs.FileMode(f.mode) & fs.ModePerm}
			}
		}
		for name, contents := range ign.units {
			image["/etc/systemd/system/"+name] = placed{[]byte(contents), 0o644}
		}
	}
	var unitPaths []string
	for p := range image {
		if _, _, ok := consumerUnitKind(p); ok {
			unitPaths = append(unitPaths, p)
		}
	}
	if len(unitPaths) == 0 {
		t.Skip("the plan places no systemd unit")
	}
	sort.Strings(unitPaths)
	bin := consumerBinary(t, "systemd-analyze")
	root := consumerSystemdRoot(t)
	var unitTexts [][]byte
	for _, p := range unitPaths {
		name, dropIn, _ := consumerUnitKind(p)
		consumerPut(t, root, p, image[p].content, image[p].mode)
		unitTexts = append(unitTexts, image[p].content)
		if dropIn {
			dropIns[name] = true
		} else {
			units[name] = image[p].content
		}
		add(name)
	}
	// Units the plan relies on but that come from packages the steps
	// install: the runtime's services and, from packages, kubelet's. They
	// get stand-ins; any other missing unit is a finding.
	packaged := append([]string{}, cp.plan.Runtime.Services...)
	if cp.plan.Kubernetes.Source == recipes.SourcePackages {
		packaged = append(packaged, "kubelet.service")
	}
	stubbed := map[string]bool{}
	for _, name := range packaged {
		if _, ok := units[name]; ok {
			continue
		}
		stubbed[name] = true
		consumerPut(t, root, "/usr/lib/systemd/system/"+name,
			[]byte("[Unit]\nDescription=stand-in for the packaged "+name+"\n\n[Service]\nExecStart=/usr/bin/true\n"), 0o644)
		consumerPut(t, root, "/usr/bin/true", []byte("#!/bin/sh\nexit 0\n"), 0o755)
	}
	for name := range dropIns {
		if _, ok := units[name]; !ok && !stubbed[name] {
			t.Errorf("the plan places drop-ins for %s, which neither the plan nor a package it installs provides", name)
		}
	}
	// Executables: a stand-in for each one the image gets (placed by the
	// plan or by Ignition, installed by a step, or part of the base system
	// as the host has it). A unit running anything else is a finding.
	for _, text := range unitTexts {
		for _, exe := range consumerExecPaths(text) {
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(exe))); err == nil {
				continue
			}
			if f, ok := image[exe]; ok {
				// The image's own file, with its own mode: a plan file
				// that is not executable is a finding.
				consumerPut(t, root, exe, f.content, f.mode)
				continue
			}
			hostHas := false
			if fi, err := os.Stat(exe); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				hostHas = true
			}
			if hostHas || consumerInstalls(cp.plan.Steps, exe) {
				consumerPut(t, root, exe, []byte("#!/bin/sh\nexit 0\n"), 0o755)
			}
		}
	}
	others := map[string]bool{}
	for _, name := range order {
		others[name] = true
	}
	for _, name := range order {
		t.Run(name, func(t *testing.T) {
			findings, err := consumerVerify(bin, root, name, others)
			assert.NoError(t, err, "systemd-analyze verify rejects %s:\n%s", name, strings.Join(findings, "\n"))
		})
	}
}

// ---------------------------------------------------------------------------
// shellcheck.

func consumerShellcheck(bin, file string) (string, error) {
	stdout, stderr, err := consumerRun(bin, "--norc", "--shell=bash", "--severity=style", "--color=never", file)
	out := strings.TrimSpace(stdout + stderr)
	if err == nil && out != "" {
		err = fmt.Errorf("shellcheck printed findings")
	}
	return out, err
}

func checkConsumerShellcheck(t *testing.T, cp *consumerPlan) {
	bin := consumerBinary(t, "shellcheck")
	for _, s := range cp.plan.Steps {
		t.Run(path.Base(s.Script), func(t *testing.T) {
			out, err := consumerShellcheck(bin, filepath.Join(cp.dir, filepath.FromSlash(s.Script)))
			assert.NoError(t, err, "shellcheck -s bash finds problems in %s:\n%s", s.Script, out)
		})
	}
	if cp.plan.Family == recipes.FamilyFCOS {
		t.Run("bake", func(t *testing.T) {
			const bake = "/usr/local/libexec/kubebake/bake"
			f, ok := cp.ignition(t).files[bake]
			require.True(t, ok, "Ignition does not place %s", bake)
			p := filepath.Join(t.TempDir(), "bake")
			require.NoError(t, os.WriteFile(p, f.content, 0o755))
			out, err := consumerShellcheck(bin, p)
			assert.NoError(t, err, "shellcheck -s bash finds problems in %s:\n%s", bake, out)
		})
	}
}

// ---------------------------------------------------------------------------
// The checks can fail: each consumer rejects a broken input.

// TestConsumerSystemdVerifyRejectsBrokenUnits proves that the systemd check
// fails on the mistakes it is there to catch, and passes a good unit.
func TestConsumerSystemdVerifyRejectsBrokenUnits(t *testing.T) {
	t.Parallel()
	good := "[Unit]\nDescription=good\nAfter=network-online.target\n\n[Service]\nType=oneshot\nExecStart=/usr/local/bin/tool --flag\n\n[Install]\nWantedBy=multi-user.target\n"
	cases := []struct {
		name   string
		unit   string
		dropIn string // placed as tool.service.d/10-test.conf
		want   string // in systemd-analyze's output; empty: no finding
	}{
		{name: "good unit passes", unit: good},
		{name: "good drop-in passes", unit: good, dropIn: "[Service]\nEnvironment=A=b\n"},
		{name: "unknown directive", unit: strings.Replace(good, "Type=oneshot", "Type=oneshot\nRestartSecs=2", 1), want: "Unknown key"},
		{name: "unknown section", unit: strings.Replace(good, "[Install]", "[Instal]", 1), want: "Unknown section"},
		{name: "line without equals", unit: strings.Replace(good, "Type=oneshot", "Type oneshot", 1), want: "Missing '='"},
		{name: "bad value", unit: strings.Replace(good, "Type=oneshot", "Type=oneshot\nRestart=sometimes", 1), want: "Failed to parse"},
		{name: "missing executable", unit: strings.Replace(good, "/usr/local/bin/tool", "/usr/local/bin/no-such-tool", 1), want: "is not executable"},
		{name: "missing required unit", unit: strings.Replace(good, "After=", "Requires=no-such.service\nAfter=", 1), want: "no-such.service"},
		{name: "unknown directive in drop-in", unit: good, dropIn: "[Service]\nEnviroment=A=b\n", want: "Unknown key"},
	}
	bin := consumerBinary(t, "systemd-analyze")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			root := consumerSystemdRoot(t)
			consumerPut(t, root, "/usr/local/bin/tool", []byte("#!/bin/sh\nexit 0\n"), 0o755)
			consumerPut(t, root, "/etc/systemd/system/tool.service", []byte(c.unit), 0o644)
			if c.dropIn != "" {
				consumerPut(t, root, "/etc/systemd/system/tool.service.d/10-test.conf", []byte(c.dropIn), 0o644)
			}
			findings, err := consumerVerify(bin, root, "tool.service", nil)
			out := strings.Join(findings, "\n")
			if c.want == "" {
				assert.NoError(t, err, "%s", out)
				return
			}
			require.Error(t, err, "systemd-analyze verify accepted a broken unit")
			assert.Contains(t, out, c.want)
		})
	}
}

// TestConsumerValidatorsRejectBrokenInput proves that every other check can
// fail: each consumer rejects what it is there to reject.
func TestConsumerValidatorsRejectBrokenInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		run  func(t *testing.T) error
	}{
		{"shellcheck flags an unquoted expansion", func(t *testing.T) error {
			p := filepath.Join(t.TempDir(), "s.sh")
			require.NoError(t, os.WriteFile(p, []byte("#!/usr/bin/env bash\nset -euo pipefail\nrm -rf $1/tmp\n"), 0o755))
			out, err := consumerShellcheck(consumerBinary(t, "shellcheck"), p)
			assert.Contains(t, out, "SC2086")
			return err
		}},
		{"shellcheck flags a style finding", func(t *testing.T) error {
			p := filepath.Join(t.TempDir(), "s.sh")
			require.NoError(t, os.WriteFile(p, []byte("#!/usr/bin/env bash\nx=`date`\necho \"$x\"\n"), 0o755))
			out, err := consumerShellcheck(consumerBinary(t, "shellcheck"), p)
			assert.Contains(t, out, "SC2006")
			return err
		}},
		{"dockerd rejects an unknown directive", func(t *testing.T) error {
			p := filepath.Join(t.TempDir(), "daemon.json")
			require.NoError(t, os.WriteFile(p, []byte(`{"exec-opts": ["native.cgroupdriver=systemd"], "max-concurrent-download": 5}`), 0o644))
			_, _, err := consumerRun(consumerBinary(t, "dockerd"), "--validate", "--config-file", p)
			return err
		}},
		{"containerd rejects broken TOML", func(t *testing.T) error {
			p := filepath.Join(t.TempDir(), "config.toml")
			require.NoError(t, os.WriteFile(p, []byte("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"\n  sandbox_image = 1\n"), 0o644))
			_, _, err := consumerRun(consumerBinary(t, "containerd"), "--config", p, "config", "dump")
			return err
		}},
		{"containerd dump tells a lost setting", func(t *testing.T) error {
			p := filepath.Join(t.TempDir(), "config.toml")
			require.NoError(t, os.WriteFile(p, []byte("version = 2\n"), 0o644))
			stdout, _, err := consumerRun(consumerBinary(t, "containerd"), "--config", p, "config", "dump")
			require.NoError(t, err)
			var dump map[string]any
			require.NoError(t, toml.Unmarshal([]byte(stdout), &dump))
			if v := consumerDig(dump, "plugins", consumerCRIPlugin, "containerd", "runtimes", "runc", "options", "SystemdCgroup"); v != true {
				return fmt.Errorf("SystemdCgroup is %v", v)
			}
			return nil
		}},
		{"strict TOML rejects a misspelt CRI-O key", func(t *testing.T) error {
			var c consumerCRIODropIn
			return consumerStrictTOML([]byte("[crio.runtime]\ncgroup_manger = \"systemd\"\n"), &c)
		}},
		{"strict TOML rejects a misspelt registries key", func(t *testing.T) error {
			var rc consumerRegistriesConf
			return consumerStrictTOML([]byte("[[registry]]\nprefix = \"docker.io\"\n[[registry.mirror]]\nlocaton = \"m\"\n"), &rc)
		}},
		{"strict TOML rejects a misspelt hosts.toml key", func(t *testing.T) error {
			var h consumerContainerdHosts
			return consumerStrictTOML([]byte("server = \"https://registry-1.docker.io\"\n[host.\"https://m\"]\n  capabilites = [\"pull\"]\n"), &h)
		}},
		{"KubeletConfiguration rejects an unknown field", func(t *testing.T) error {
			var kc kubeletv1beta1.KubeletConfiguration
			return yaml.UnmarshalStrict([]byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriverr: systemd\n"), &kc)
		}},
		{"Ignition rejects a relative path", func(t *testing.T) error {
			_, rep, err := ignition.Parse([]byte(`{"ignition":{"version":"3.5.0"},"storage":{"files":[{"path":"etc/x"}]}}`))
			if err == nil && rep.IsFatal() {
				err = errors.New(rep.String())
			}
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			assert.Error(t, c.run(t), "the consumer accepted a broken input")
		})
	}
}
