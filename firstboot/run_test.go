package firstboot_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubebake/kubebake/api"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot"
	"github.com/kubebake/kubebake/firstboot/source"
)

// Secrets: those set in the NodeConfigs, and different ones the fake
// kubeadm prints in its join commands.
const (
	cfgToken      = "k8sfb1.s3cr3ttok3nvalue"
	printedToken  = "pr1ntd.pr1ntedt0kenvalu"
	caHash        = "sha256:7f1b2a5c3c9d6e4f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"
	criSocket     = "unix:///run/containerd/containerd.sock"
	imageJSON     = `{"recipe": "debian-13-containerd", "kubernetesVersion": "v1.36.3", "criSocket": "` + criSocket + `"}`
	nodeConfigHdr = "apiVersion: kubebake.dev/v1alpha1\nkind: NodeConfig\n"
)

var (
	cfgCertKey     = strings.Repeat("c0ffee11", 8)
	printedCertKey = strings.Repeat("deadbeef", 8)
	// secrets must appear in no log, status, marker or console line; the
	// secret halves of the tokens too.
	secrets = []string{cfgToken, "s3cr3ttok3nvalue", printedToken, "pr1ntedt0kenvalu", cfgCertKey, printedCertKey}
)

const initConfig = nodeConfigHdr + `role: init
cluster:
  podSubnet: 10.244.0.0/16
bootstrap:
  token: ` + cfgToken + `
  uploadCerts: true
  certificateKey: CERTKEY
node:
  advertiseAddress: 10.0.0.10
cni:
  manifest: /etc/kubebake/cni.yaml
hooks:
  before:
    - {name: first, run: echo first}
    - {name: second, run: echo second}
  after:
    - {name: third, run: echo third}
`

const joinConfig = nodeConfigHdr + `role: join
cluster:
  controlPlaneEndpoint: 10.0.0.10:6443
bootstrap:
  token: ` + cfgToken + `
  caCertHashes: ["` + caHash + `"]
`

func withCertKey(s string) string { return strings.ReplaceAll(s, "CERTKEY", cfgCertKey) }

// fakeClock advances on Sleep and records the waits.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	return nil
}

func (c *fakeClock) waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// fakeRunner records each command and plays a script: kubeadm init writes
// admin.conf (0644) and prints the token and join commands as the real one
// does; joins fail joinFailures times (-1: always). Output reaches the log
// in small chunks, as it does from a pipe.
type fakeRunner struct {
	root string

	mu           sync.Mutex
	cmds         []firstboot.Cmd
	joinFailures int
	// joinEtcdAdded makes a failing join fail after adding the node's etcd
	// member, as a control-plane join can.
	joinEtcdAdded bool
	initExit      int
	kubectlExit   int
	failHook      string
	// podCIDRs is what `kubectl get node` prints after podCIDRWaits empty
	// answers ("" never allocates).
	podCIDRs     string
	podCIDRWaits int
	// leakFile, when set, is a file kubeadm init prints (as a careless tool
	// might), to prove redaction.
	leakFile string
}

func (f *fakeRunner) Run(ctx context.Context, c firstboot.Cmd, log io.Writer) (firstboot.Result, error) {
	f.mu.Lock()
	f.cmds = append(f.cmds, firstboot.Cmd{Name: c.Name, Args: append([]string(nil), c.Args...)})
	out, code := f.play(c)
	f.mu.Unlock()
	for i := 0; i < len(out); i += 5 {
		if _, err := io.WriteString(log, out[i:min(i+5, len(out))]); err != nil {
			return firstboot.Result{ExitCode: -1}, err
		}
	}
	res := firstboot.Result{ExitCode: code, Output: []byte(out)}
	if code != 0 {
		return res, &firstboot.RunError{Cmd: c, ExitCode: code, Output: res.Output, Err: fmt.Errorf("exit status %d", code)}
	}
	return res, nil
}

var (
	tokenInConfig   = regexp.MustCompile(`token: ([a-z0-9]{6}\.[a-z0-9]{16})`)
	certKeyInConfig = regexp.MustCompile(`certificateKey: ([a-f0-9]{64})`)
)

func (f *fakeRunner) play(c firstboot.Cmd) (string, int) {
	sub := ""
	if len(c.Args) > 0 {
		sub = c.Args[0]
	}
	switch {
	case c.Name == "kubeadm" && sub == "init":
		token := "missing"
		if b, err := os.ReadFile(filepath.Join(f.root, firstboot.KubeadmConfig)); err == nil {
			if m := tokenInConfig.FindSubmatch(b); m != nil {
				token = string(m[1])
			}
		}
		if f.leakFile != "" {
			b, err := os.ReadFile(filepath.Join(f.root, f.leakFile))
			if err != nil {
				return err.Error(), 1
			}
			return "[certs] Using the existing ca certificate authority\n" + string(b) + initOutput(token, ""), 0
		}
		if f.initExit != 0 {
			return "[init] Using Kubernetes version: v1.36.3\n[bootstrap-token] Using token: " + token + "\nerror execution phase wait-control-plane: timed out\n", f.initExit
		}
		admin := filepath.Join(f.root, firstboot.AdminConf)
		if err := os.MkdirAll(filepath.Dir(admin), 0o755); err != nil {
			return err.Error(), 1
		}
		if err := os.WriteFile(admin, []byte("apiVersion: v1\nkind: Config\n"), 0o644); err != nil {
			return err.Error(), 1
		}
		certKey := ""
		if b, err := os.ReadFile(filepath.Join(f.root, firstboot.KubeadmConfig)); err == nil && slices.Contains(c.Args, "--upload-certs") {
			if m := certKeyInConfig.FindSubmatch(b); m != nil {
				certKey = string(m[1])
			}
		}
		return initOutput(token, certKey), 0
	case c.Name == "kubeadm" && sub == "join":
		if f.joinFailures != 0 {
			if f.joinFailures > 0 {
				f.joinFailures--
			}
			if f.joinEtcdAdded {
				return "[preflight] Running pre-flight checks\n[etcd] Creating static Pod manifest for \"etcd\"\n[etcd] Waiting for the new etcd member to join the cluster. This can take up to 40s\n[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap\nerror: error execution phase kubelet-wait-bootstrap: failed while waiting for TLS bootstrap: context deadline exceeded\n", 1
			}
			return "[preflight] Running pre-flight checks\nerror execution phase preflight: couldn't validate the identity of the API Server: Get \"https://10.0.0.10:6443/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s\": dial tcp 10.0.0.10:6443: connect: connection refused\n", 1
		}
		return "[preflight] Running pre-flight checks\nThis node has joined the cluster\n", 0
	case c.Name == "kubeadm" && sub == "reset":
		return "[reset] Deleted contents of the etcd data directory\n", 0
	case c.Name == "kubectl" && slices.Contains(c.Args, "get"):
		if f.podCIDRWaits > 0 {
			f.podCIDRWaits--
			return "", 0
		}
		return f.podCIDRs, 0
	case c.Name == "kubectl":
		if f.kubectlExit != 0 {
			return "The connection to the server 10.0.0.10:6443 was refused\n", f.kubectlExit
		}
		return "daemonset.apps/kube-flannel-ds created\n", 0
	case c.Name == "bash":
		if len(c.Args) == 2 && c.Args[1] == f.failHook {
			return "hook failed\n", 3
		}
		return strings.TrimPrefix(c.Args[1], "echo ") + "\n", 0
	}
	return "unexpected command\n", 127
}

// initOutput is kubeadm init's output: the token, the certificate key and
// the join commands with both.
func initOutput(token, certKey string) string {
	out := "[init] Using Kubernetes version: v1.36.3\n"
	if certKey != "" {
		out += `[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace
[upload-certs] Using certificate key:
` + certKey + "\n"
	}
	return out + `[bootstrap-token] Using token: ` + token + `
Your Kubernetes control-plane has initialized successfully!

You can now join any number of control-plane nodes running the following command on each as root:

  kubeadm join 10.0.0.10:6443 --token ` + printedToken + ` \
	--discovery-token-ca-cert-hash ` + caHash + ` \
	--control-plane --certificate-key ` + printedCertKey + `

Then you can join any number of worker nodes by running the following on each as root:

kubeadm join 10.0.0.10:6443 --token ` + token + ` \
	--discovery-token-ca-cert-hash ` + caHash + `
`
}

func (f *fakeRunner) commands(root string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.cmds {
		out = append(out, strings.ReplaceAll(c.String(), root, "ROOT"))
	}
	return out
}

// syncBuffer is a log writer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// node is a temp root prepared as a node ready for kubeadm, with a fake
// runner, clock and log.
type node struct {
	t      *testing.T
	root   string
	runner *fakeRunner
	clock  *fakeClock
	log    *syncBuffer
	sock   net.Listener
}

// newNode prepares a root (short enough for a unix socket path) with what
// preflight reads, a listening runtime socket, image.json and, unless
// empty, the NodeConfig at /etc/kubebake/node.yaml.
func newNode(t *testing.T, nodeConfig string) *node {
	t.Helper()
	root, err := os.MkdirTemp("", "fb")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(root) })
	n := &node{t: t, root: root, runner: &fakeRunner{root: root}, clock: newClock(), log: &syncBuffer{}}
	n.write("/proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n", 0o444)
	for _, d := range []string{"/sys/module/overlay", "/sys/module/br_netfilter", "/dev", "/run/containerd"} {
		require.NoError(t, os.MkdirAll(n.path(d), 0o755))
	}
	for _, s := range []string{"net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables", "net/ipv4/ip_forward"} {
		n.write("/proc/sys/"+s, "1\n", 0o644)
	}
	n.write(api.ImageInfoPath, imageJSON, 0o644)
	n.write("/etc/kubebake/cni.yaml", "kind: DaemonSet\n", 0o644)
	if nodeConfig != "" {
		n.write(source.NodeConfigPath, nodeConfig, 0o600)
	}
	n.listen()
	return n
}

func (n *node) path(p string) string { return filepath.Join(n.root, p) }

func (n *node) write(p, content string, mode os.FileMode) {
	n.t.Helper()
	require.NoError(n.t, os.MkdirAll(filepath.Dir(n.path(p)), 0o755))
	require.NoError(n.t, os.WriteFile(n.path(p), []byte(content), mode))
}

func (n *node) read(p string) string {
	n.t.Helper()
	b, err := os.ReadFile(n.path(p))
	require.NoError(n.t, err)
	return string(b)
}

func (n *node) exists(p string) bool {
	_, err := os.Stat(n.path(p))
	return err == nil
}

func (n *node) listen() {
	n.t.Helper()
	sock := n.path(strings.TrimPrefix(criSocket, "unix://"))
	require.Less(n.t, len(sock), 108, "unix socket path too long")
	l, err := net.Listen("unix", sock)
	require.NoError(n.t, err)
	n.sock = l
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	n.t.Cleanup(func() { l.Close() })
}

func (n *node) options() firstboot.Options {
	return firstboot.Options{
		Root:     n.root,
		Finder:   source.Finder{Root: n.root},
		Runner:   n.runner,
		Clock:    n.clock,
		Log:      n.log,
		Hostname: func() (string, error) { return "Node-1", nil },
	}
}

func (n *node) run() error {
	n.t.Helper()
	err := firstboot.Run(context.Background(), n.options())
	n.checkNoSecrets()
	return err
}

func (n *node) status() firstboot.Status {
	n.t.Helper()
	var s firstboot.Status
	require.NoError(n.t, json.Unmarshal([]byte(n.read(firstboot.StatusFile)), &s))
	return s
}

func (n *node) mode(p string) fs.FileMode {
	n.t.Helper()
	fi, err := os.Stat(n.path(p))
	require.NoError(n.t, err)
	return fi.Mode().Perm()
}

func phaseNames(s firstboot.Status) []string {
	var names []string
	for _, p := range s.Phases {
		names = append(names, p.Name+"="+p.Result)
	}
	return names
}

// checkNoSecrets looks for every secret, and the token kubeadm.yaml holds,
// in the log, the status, the failure marker and the console.
func (n *node) checkNoSecrets() {
	n.t.Helper()
	all := append([]string{}, secrets...)
	if b, err := os.ReadFile(n.path(firstboot.KubeadmConfig)); err == nil {
		for _, m := range tokenInConfig.FindAllSubmatch(b, -1) {
			all = append(all, string(m[1]), string(m[1][7:]))
		}
	}
	places := map[string]string{"log": n.log.String()}
	for _, p := range []string{firstboot.StatusFile, firstboot.FailureMarker, firstboot.Console, firstboot.SuccessMarker} {
		if b, err := os.ReadFile(n.path(p)); err == nil {
			places[p] = string(b)
		}
	}
	for where, text := range places {
		for _, s := range all {
			if strings.Contains(text, s) {
				n.t.Errorf("secret %q in %s:\n%s", s, where, text)
			}
		}
	}
}

func (n *node) consoleLines() []string {
	n.t.Helper()
	b, err := os.ReadFile(n.path(firstboot.Console))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(n.t, err)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestRunInitSuccess(t *testing.T) {
	t.Parallel()
	n := newNode(t, withCertKey(initConfig))
	require.NoError(t, n.run())

	assert.Equal(t, []string{
		"bash -c echo first",
		"bash -c echo second",
		"kubeadm init --config ROOT/etc/kubebake/kubeadm.yaml --upload-certs",
		"kubectl --kubeconfig ROOT/etc/kubernetes/admin.conf apply -f ROOT/etc/kubebake/cni.yaml",
		"bash -c echo third",
	}, n.runner.commands(n.root))

	s := n.status()
	assert.Equal(t, firstboot.ResultSuccess, s.Result)
	assert.Equal(t, "done", s.Phase)
	assert.Empty(t, s.Error)
	assert.Equal(t, []string{"config=success", "preflight=success", "hooks-before=success", "kubeadm=success", "post-init=success", "hooks-after=success"}, phaseNames(s))
	assert.Equal(t, 1, s.Attempt)
	assert.Equal(t, "init", s.Role)
	assert.Equal(t, "node-1", s.Node)
	assert.Equal(t, "v1.36.3", s.KubernetesVersion)
	assert.Equal(t, "file /etc/kubebake/node.yaml (written by Ignition or cloud-init)", s.Source)
	assert.Equal(t, time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC), s.StartedAt)
	require.NotNil(t, s.FinishedAt)
	require.NotNil(t, s.Kubeadm)
	assert.Equal(t, 1, s.Kubeadm.Attempts)
	assert.Equal(t, 0, s.Kubeadm.ExitCode)
	assert.Contains(t, s.Kubeadm.OutputTail, "<redacted")

	assert.True(t, n.exists(firstboot.SuccessMarker))
	assert.True(t, n.exists(firstboot.CAPISentinel))
	assert.False(t, n.exists(firstboot.FailureMarker))
	lines := n.consoleLines()
	require.Len(t, lines, 1)
	assert.True(t, strings.HasPrefix(lines[0], "kubebake-firstboot: SUCCESS"), lines[0])
	assert.Contains(t, lines[0], "init node node-1 created the cluster (Kubernetes v1.36.3)")
	assert.Equal(t, 1, strings.Count(n.log.String(), "kubebake-firstboot: SUCCESS"))

	assert.Equal(t, fs.FileMode(0o600), n.mode(firstboot.KubeadmConfig))
	assert.Equal(t, fs.FileMode(0o600), n.mode(firstboot.AdminConf))
	cfg := n.read(firstboot.KubeadmConfig)
	assert.Contains(t, cfg, cfgToken, "kubeadm.yaml is where the token goes")
	assert.Contains(t, cfg, cfgCertKey)
	assert.Contains(t, n.log.String(), "hook first\nfirst\nkubebake-firstboot: hook second\nsecond\n", "hook output reaches the log")
	assert.Contains(t, n.log.String(), "--certificate-key <redacted>")
	assert.Empty(t, n.clock.waits(), "nothing waited")

	// A second run after success runs nothing and changes nothing.
	before := n.read(firstboot.StatusFile)
	n.runner = &fakeRunner{root: n.root}
	require.NoError(t, n.run())
	assert.Empty(t, n.runner.commands(n.root))
	assert.Equal(t, before, n.read(firstboot.StatusFile))
	assert.Len(t, n.consoleLines(), 1)
}

func TestRunInitGeneratedToken(t *testing.T) {
	t.Parallel()
	n := newNode(t, nodeConfigHdr+"role: init\n")
	require.NoError(t, n.run())
	m := tokenInConfig.FindStringSubmatch(n.read(firstboot.KubeadmConfig))
	require.NotNil(t, m, "a token was generated")
	assert.NotEqual(t, cfgToken, m[1])
	assert.Equal(t, []string{"kubeadm init --config ROOT/etc/kubebake/kubeadm.yaml"}, n.runner.commands(n.root))
	assert.Equal(t, firstboot.ResultSuccess, n.status().Result)
	assert.Contains(t, n.log.String(), "Using token: <redacted>")
}

func TestRunJoinRetries(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig)
	n.runner.joinFailures = 2
	require.NoError(t, n.run())
	join := "kubeadm join --config ROOT/etc/kubebake/kubeadm.yaml"
	reset := "kubeadm reset --force --cri-socket " + criSocket
	assert.Equal(t, []string{join, reset, join, reset, join}, n.runner.commands(n.root))
	assert.Equal(t, []time.Duration{10 * time.Second, 20 * time.Second}, n.clock.waits())
	s := n.status()
	assert.Equal(t, firstboot.ResultSuccess, s.Result)
	require.NotNil(t, s.Kubeadm)
	assert.Equal(t, 3, s.Kubeadm.Attempts)
	assert.Equal(t, 0, s.Kubeadm.ExitCode)
	assert.Equal(t, []string{"config=success", "preflight=success", "hooks-before=success", "kubeadm=success", "hooks-after=success"}, phaseNames(s))
	kubeadm := s.Phases[3]
	assert.Equal(t, 30.0, kubeadm.Seconds, "the kubeadm phase took the two waits")
	assert.True(t, n.exists(firstboot.SuccessMarker))
	assert.True(t, n.exists(firstboot.CAPISentinel))
	assert.Contains(t, n.log.String(), "retry in 10s")
}

func TestRunJoinGivesUp(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig+"timeouts:\n  controlPlane: 2m\n")
	n.runner.joinFailures = -1
	err := n.run()
	require.Error(t, err)
	assert.ErrorIs(t, err, firstboot.ErrFailed)
	assert.Contains(t, err.Error(), "kubeadm join failed 4 times over 2m0s (last exit code 1)")

	join := "kubeadm join --config ROOT/etc/kubebake/kubeadm.yaml"
	reset := "kubeadm reset --force --cri-socket " + criSocket
	assert.Equal(t, []string{join, reset, join, reset, join, reset, join}, n.runner.commands(n.root))
	assert.Equal(t, []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second}, n.clock.waits())
	s := n.status()
	assert.Equal(t, firstboot.ResultFailure, s.Result)
	assert.Equal(t, "kubeadm", s.Phase)
	assert.Contains(t, s.Error, "kubeadm join failed 4 times")
	require.NotNil(t, s.Kubeadm)
	assert.Equal(t, 4, s.Kubeadm.Attempts)
	assert.Equal(t, 1, s.Kubeadm.ExitCode)
	assert.Contains(t, s.Kubeadm.OutputTail, "connection refused")
	assert.Contains(t, n.read(firstboot.FailureMarker), "kubeadm join failed 4 times")
	assert.False(t, n.exists(firstboot.SuccessMarker))
	assert.False(t, n.exists(firstboot.CAPISentinel))
	lines := n.consoleLines()
	require.Len(t, lines, 1)
	assert.True(t, strings.HasPrefix(lines[0], "kubebake-firstboot: FAILED"), lines[0])
	assert.Contains(t, lines[0], "kubeadm phase")

	// The next boot resets the failed attempt first, then joins.
	n.runner = &fakeRunner{root: n.root}
	require.NoError(t, n.run())
	assert.Equal(t, []string{reset, join}, n.runner.commands(n.root))
	s = n.status()
	assert.Equal(t, firstboot.ResultSuccess, s.Result)
	assert.Equal(t, 2, s.Attempt)
	assert.Equal(t, []string{"config=success", "preflight=success", "reset=success", "hooks-before=success", "kubeadm=success", "hooks-after=success"}, phaseNames(s))
	assert.False(t, n.exists(firstboot.FailureMarker))
	assert.True(t, n.exists(firstboot.SuccessMarker))
	lines = n.consoleLines()
	require.Len(t, lines, 2)
	assert.True(t, strings.HasPrefix(lines[1], "kubebake-firstboot: SUCCESS"), lines[1])
	assert.Contains(t, lines[1], "joined the cluster (Kubernetes v1.36.3)")
}

// TestRunJoinGivesUpAtDefaultTimeout: with the default 20m, the waits
// double from 10s to 60s and the last attempt starts before the deadline
// with no room for another wait.
func TestRunJoinGivesUpAtDefaultTimeout(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig)
	n.runner.joinFailures = -1
	require.ErrorIs(t, n.run(), firstboot.ErrFailed)
	waits := n.clock.waits()
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second}
	want = append(want, repeatD(time.Minute, 18)...)
	assert.Equal(t, want, waits)
	var total time.Duration
	for _, w := range waits {
		total += w
	}
	assert.LessOrEqual(t, total, 20*time.Minute)
	assert.Greater(t, total+time.Minute, 20*time.Minute)
	s := n.status()
	require.NotNil(t, s.Kubeadm)
	assert.Equal(t, len(waits)+1, s.Kubeadm.Attempts)
	assert.Contains(t, s.Error, "over 20m0s")
}

func TestRunResetsAfterPreviousAttempt(t *testing.T) {
	t.Parallel()
	reset := "kubeadm reset --force --cri-socket " + criSocket
	join := "kubeadm join --config ROOT/etc/kubebake/kubeadm.yaml"
	tests := []struct {
		name          string
		prevStatus    string // status.json left by the previous boot; "" for none
		failureMarker bool
		want          []string
	}{
		{name: "first boot", want: []string{join}},
		{name: "interrupted in kubeadm", prevStatus: `{"result": "running", "phase": "kubeadm", "attempt": 1}`, want: []string{reset, join}},
		{name: "interrupted in hooks-before", prevStatus: `{"result": "running", "phase": "hooks-before", "attempt": 1}`, want: []string{reset, join}},
		{name: "failed in kubeadm, marker removed", prevStatus: `{"result": "failure", "phase": "kubeadm", "attempt": 1}`, want: []string{reset, join}},
		{name: "failure marker only", failureMarker: true, want: []string{reset, join}},
		{name: "interrupted in config", prevStatus: `{"result": "running", "phase": "config", "attempt": 1}`, want: []string{join}},
		{name: "previous boot had no config", prevStatus: `{"result": "no-config", "phase": "config", "attempt": 1}`, want: []string{join}},
		{name: "previous boot only configured", prevStatus: `{"result": "configured", "phase": "config", "attempt": 1}`, want: []string{join}},
		{name: "corrupt status", prevStatus: `{"result": `, want: []string{join}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, joinConfig)
			if tc.prevStatus != "" {
				n.write(firstboot.StatusFile, tc.prevStatus, 0o644)
			}
			if tc.failureMarker {
				n.write(firstboot.FailureMarker, "kubeadm join failed\n", 0o644)
			}
			require.NoError(t, n.run())
			assert.Equal(t, tc.want, n.runner.commands(n.root))
			assert.Equal(t, firstboot.ResultSuccess, n.status().Result)
			assert.False(t, n.exists(firstboot.FailureMarker))
		})
	}
}

func TestRunPreflightFailure(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig)
	n.write("/proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile file 1048572 0 -2\n", 0o444)
	require.NoError(t, os.RemoveAll(n.path("/sys/module")))
	require.NoError(t, os.Remove(n.path("/proc/sys/net/bridge/bridge-nf-call-iptables")))
	n.write("/proc/sys/net/ipv4/ip_forward", "0\n", 0o644)

	err := n.run()
	require.ErrorIs(t, err, firstboot.ErrFailed)
	s := n.status()
	assert.Equal(t, firstboot.ResultFailure, s.Result)
	assert.Equal(t, "preflight", s.Phase)
	for _, want := range []string{
		"swap is on (1 devices in /proc/swaps)",
		"kernel module overlay is not loaded",
		"kernel module br_netfilter is not loaded",
		"sysctl net.bridge.bridge-nf-call-iptables is not available",
		"sysctl net.ipv4.ip_forward is 0, not 1",
	} {
		assert.Contains(t, s.Error, want)
		assert.Contains(t, err.Error(), want)
		assert.Contains(t, n.read(firstboot.FailureMarker), want)
	}
	assert.NotContains(t, s.Error, "ip6tables", "present and 1")
	assert.Nil(t, s.Kubeadm)
	assert.Empty(t, n.runner.commands(n.root), "no kubeadm")
	assert.True(t, strings.HasPrefix(n.consoleLines()[0], "kubebake-firstboot: FAILED: preflight phase"))
}

func TestRunPreflightAlternatives(t *testing.T) {
	t.Parallel()
	// overlay built in (listed in /proc/filesystems), br_netfilter built in
	// (its sysctl exists), no /proc/swaps at all.
	n := newNode(t, joinConfig)
	require.NoError(t, os.RemoveAll(n.path("/sys/module")))
	require.NoError(t, os.Remove(n.path("/proc/swaps")))
	n.write("/proc/filesystems", "nodev\tsysfs\nnodev\toverlay\n", 0o444)
	require.NoError(t, n.run())
	assert.Equal(t, firstboot.ResultSuccess, n.status().Result)
}

func TestRunRuntimeSocketAbsent(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig+"timeouts:\n  runtime: 30s\n")
	require.NoError(t, n.sock.Close())
	err := n.run()
	require.ErrorIs(t, err, firstboot.ErrFailed)
	s := n.status()
	assert.Equal(t, "preflight", s.Phase)
	assert.Contains(t, s.Error, "the container runtime does not answer on "+criSocket+" after 30s")
	waits := n.clock.waits()
	var total time.Duration
	for _, w := range waits {
		assert.Equal(t, time.Second, w)
		total += w
	}
	assert.GreaterOrEqual(t, total, 30*time.Second)
	assert.LessOrEqual(t, total, 32*time.Second)
	assert.Empty(t, n.runner.commands(n.root))
}

func TestRunRuntimeSocketLate(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig)
	require.NoError(t, n.sock.Close())
	// The runtime comes up while preflight waits: the clock's third wait
	// starts it.
	clock := &lateClock{fakeClock: n.clock, after: 3, start: n.listen}
	o := n.options()
	o.Clock = clock
	require.NoError(t, firstboot.Run(context.Background(), o))
	n.checkNoSecrets()
	assert.Equal(t, []time.Duration{time.Second, time.Second, time.Second}, n.clock.waits())
	assert.Equal(t, firstboot.ResultSuccess, n.status().Result)
}

// lateClock calls start at its after-th Sleep.
type lateClock struct {
	*fakeClock
	after int
	start func()
	n     int
}

func (c *lateClock) Sleep(ctx context.Context, d time.Duration) error {
	c.n++
	if c.n == c.after {
		c.start()
	}
	return c.fakeClock.Sleep(ctx, d)
}

func TestRunNoConfig(t *testing.T) {
	t.Parallel()
	n := newNode(t, "")
	n.write("/var/lib/cloud/instance/user-data.txt", "#!/bin/sh\necho not for us\n", 0o600)
	require.NoError(t, n.run())
	s := n.status()
	assert.Equal(t, firstboot.ResultNoConfig, s.Result)
	assert.Equal(t, []string{"config=no-config"}, phaseNames(s))
	assert.Empty(t, n.runner.commands(n.root))
	for _, p := range []string{firstboot.SuccessMarker, firstboot.FailureMarker, firstboot.CAPISentinel, firstboot.KubeadmConfig, firstboot.Console} {
		assert.False(t, n.exists(p), p)
	}
	assert.Contains(t, n.log.String(), "no NodeConfig found (looked in /var/lib/cloud/instance/user-data.txt")
}

func TestRunSkipRun(t *testing.T) {
	t.Parallel()
	n := newNode(t, withCertKey(initConfig))
	o := n.options()
	o.SkipRun = true
	require.NoError(t, firstboot.Run(context.Background(), o))
	n.checkNoSecrets()
	assert.Empty(t, n.runner.commands(n.root))
	assert.Equal(t, fs.FileMode(0o600), n.mode(firstboot.KubeadmConfig))
	assert.Contains(t, n.read(firstboot.KubeadmConfig), "kind: InitConfiguration")
	s := n.status()
	assert.Equal(t, firstboot.ResultConfigured, s.Result)
	assert.Equal(t, []string{"config=success"}, phaseNames(s))
	for _, p := range []string{firstboot.SuccessMarker, firstboot.FailureMarker, firstboot.CAPISentinel, firstboot.Console} {
		assert.False(t, n.exists(p), p)
	}
	assert.Empty(t, n.clock.waits())
}

// TestRunConfigPhase covers sources, drop-ins and the kubelet patch, with
// SkipRun.
func TestRunConfigPhase(t *testing.T) {
	t.Parallel()
	patch := filepath.Join(firstboot.PatchesDir, "kubeletconfiguration+merge.json")
	tests := []struct {
		name      string
		files     map[string]string
		stale     bool // a patch from an earlier config exists
		wantErr   []string
		wantCfg   []string
		wantPatch string // "" for none
	}{
		{
			name: "cloud-init user data and drop-ins",
			files: map[string]string{
				"/var/lib/cloud/instance/user-data.txt":     "#cloud-config\nwrite_files:\n  - path: /etc/kubebake/node.yaml\n    encoding: b64\n    content: " + b64(joinConfig+"node:\n  kubelet: {maxPods: 50}\n") + "\n",
				"/etc/kubebake/node.d/10-name.yaml":         "node:\n  name: worker-7\n  kubelet: {podPidsLimit: 4096}\n",
				"/etc/kubebake/node.d/20-labels.yml":        "node:\n  labels: {tier: edge}\n",
				"/etc/kubebake/node.d/30-ignored.yaml.orig": "this is not YAML: [",
			},
			wantCfg:   []string{"kind: JoinConfiguration", "name: worker-7", "value: tier=edge", "directory: /etc/kubebake/patches"},
			wantPatch: "{\n  \"maxPods\": 50,\n  \"podPidsLimit\": 4096\n}\n",
		},
		{
			name:    "no kubelet removes a stale patch",
			files:   map[string]string{source.NodeConfigPath: joinConfig},
			stale:   true,
			wantCfg: []string{"kind: JoinConfiguration", "name: node-1"},
		},
		{
			name:    "kubelet null is no patch",
			files:   map[string]string{source.NodeConfigPath: joinConfig + "node:\n  kubelet: null\n"},
			wantCfg: []string{"kind: JoinConfiguration"},
		},
		{
			name:    "drop-in unknown field",
			files:   map[string]string{source.NodeConfigPath: joinConfig, "/etc/kubebake/node.d/10.yaml": "node:\n  lables: {}\n"},
			wantErr: []string{"/etc/kubebake/node.d/10.yaml", `unknown field "lables"`},
		},
		{
			name:    "invalid NodeConfig names every field",
			files:   map[string]string{source.NodeConfigPath: nodeConfigHdr + "role: join\nbootstrap:\n  token: " + cfgToken + "\n  certificateKey: " + cfgCertKey + "\n"},
			wantErr: []string{"cluster.controlPlaneEndpoint: required for role join", "bootstrap.caCertHashes", "bootstrap: certificateKey and uploadCerts apply"},
		},
		{
			name:    "bad image.json",
			files:   map[string]string{source.NodeConfigPath: joinConfig, api.ImageInfoPath: "{"},
			wantErr: []string{api.ImageInfoPath},
		},
		{
			name:    "no image.json and no version",
			files:   map[string]string{source.NodeConfigPath: joinConfig, api.ImageInfoPath: `{}`},
			wantErr: []string{"cluster.kubernetesVersion: not set"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, "")
			for p, c := range tc.files {
				n.write(p, c, 0o600)
			}
			if tc.stale {
				n.write(patch, "{}", 0o600)
			}
			o := n.options()
			o.SkipRun = true
			err := firstboot.Run(context.Background(), o)
			n.checkNoSecrets()
			assert.Empty(t, n.runner.commands(n.root))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, firstboot.ErrFailed)
				s := n.status()
				assert.Equal(t, firstboot.ResultFailure, s.Result)
				assert.Equal(t, "config", s.Phase)
				for _, w := range tc.wantErr {
					assert.Contains(t, err.Error(), w)
					assert.Contains(t, s.Error, w)
				}
				assert.True(t, n.exists(firstboot.FailureMarker))
				assert.False(t, n.exists(firstboot.KubeadmConfig))
				return
			}
			require.NoError(t, err)
			cfg := n.read(firstboot.KubeadmConfig)
			for _, w := range tc.wantCfg {
				assert.Contains(t, cfg, w)
			}
			if tc.wantPatch == "" {
				assert.False(t, n.exists(patch))
				assert.NotContains(t, cfg, "patches")
				return
			}
			assert.Equal(t, tc.wantPatch, n.read(patch))
			assert.Equal(t, fs.FileMode(0o600), n.mode(patch))
		})
	}
}

func TestRunFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		config    string
		setup     func(f *fakeRunner)
		wantPhase string
		wantErr   string
		wantCmds  []string
		wantWaits []time.Duration
	}{
		{
			name:      "hook before fails",
			config:    withCertKey(initConfig),
			setup:     func(f *fakeRunner) { f.failHook = "echo second" },
			wantPhase: "hooks-before",
			wantErr:   "hook second: bash: exit code 3",
			wantCmds:  []string{"bash -c echo first", "bash -c echo second"},
		},
		{
			name:      "hook after fails",
			config:    withCertKey(initConfig),
			setup:     func(f *fakeRunner) { f.failHook = "echo third" },
			wantPhase: "hooks-after",
			wantErr:   "hook third",
			wantCmds: []string{"bash -c echo first", "bash -c echo second", "kubeadm init --config ROOT/etc/kubebake/kubeadm.yaml --upload-certs",
				"kubectl --kubeconfig ROOT/etc/kubernetes/admin.conf apply -f ROOT/etc/kubebake/cni.yaml", "bash -c echo third"},
		},
		{
			name:      "kubeadm init fails once, no retry",
			config:    withCertKey(initConfig),
			setup:     func(f *fakeRunner) { f.initExit = 1 },
			wantPhase: "kubeadm",
			wantErr:   "kubeadm init failed (exit code 1)",
			wantCmds:  []string{"bash -c echo first", "bash -c echo second", "kubeadm init --config ROOT/etc/kubebake/kubeadm.yaml --upload-certs"},
		},
		{
			name:      "CNI never applies",
			config:    withCertKey(initConfig),
			setup:     func(f *fakeRunner) { f.kubectlExit = 1 },
			wantPhase: "post-init",
			wantErr:   "apply CNI manifest /etc/kubebake/cni.yaml: kubectl: exit code 1",
			wantCmds: append([]string{"bash -c echo first", "bash -c echo second", "kubeadm init --config ROOT/etc/kubebake/kubeadm.yaml --upload-certs"},
				repeat("kubectl --kubeconfig ROOT/etc/kubernetes/admin.conf apply -f ROOT/etc/kubebake/cni.yaml", 6)...),
			wantWaits: repeatD(10*time.Second, 5),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, tc.config)
			tc.setup(n.runner)
			err := n.run()
			require.ErrorIs(t, err, firstboot.ErrFailed)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Equal(t, tc.wantCmds, n.runner.commands(n.root))
			assert.Equal(t, tc.wantWaits, n.clock.waits())
			s := n.status()
			assert.Equal(t, firstboot.ResultFailure, s.Result)
			assert.Equal(t, tc.wantPhase, s.Phase)
			assert.Contains(t, s.Error, tc.wantErr)
			assert.True(t, n.exists(firstboot.FailureMarker))
			assert.False(t, n.exists(firstboot.SuccessMarker))
			assert.False(t, n.exists(firstboot.CAPISentinel))
			lines := n.consoleLines()
			require.Len(t, lines, 1)
			assert.True(t, strings.HasPrefix(lines[0], "kubebake-firstboot: FAILED: "+tc.wantPhase+" phase"), lines[0])
			if tc.wantPhase == "kubeadm" {
				require.NotNil(t, s.Kubeadm)
				assert.Equal(t, 1, s.Kubeadm.ExitCode)
				assert.Contains(t, s.Kubeadm.OutputTail, "Using token: <redacted")
			}
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func repeatD(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestRunCancelledDuringJoinBackoff(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig)
	n.runner.joinFailures = -1
	ctx, cancel := context.WithCancel(context.Background())
	o := n.options()
	o.Clock = &cancelClock{fakeClock: n.clock, cancel: cancel}
	err := firstboot.Run(ctx, o)
	n.checkNoSecrets()
	require.ErrorIs(t, err, firstboot.ErrFailed)
	assert.Contains(t, err.Error(), "context canceled")
	assert.Equal(t, firstboot.ResultFailure, n.status().Result)
}

// cancelClock cancels the run at its first wait.
type cancelClock struct {
	*fakeClock
	cancel func()
}

func (c *cancelClock) Sleep(ctx context.Context, d time.Duration) error {
	c.cancel()
	return c.fakeClock.Sleep(ctx, d)
}

// TestExecRunnerEndToEnd runs init with the real ExecRunner and a fake
// kubeadm script that records its arguments.
func TestExecRunnerEndToEnd(t *testing.T) {
	n := newNode(t, nodeConfigHdr+"role: init\nbootstrap:\n  token: "+cfgToken+"\n")
	bin := n.path("/fakebin")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	args := filepath.Join(bin, "args")
	script := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> " + args + "\necho \"[bootstrap-token] Using token: " + cfgToken + "\"\necho \"kubeadm join --token " + printedToken + " \\\\\"\necho \"  --control-plane --certificate-key " + printedCertKey + "\"\nexit 0\n"
	require.NoError(t, os.WriteFile(filepath.Join(bin, "kubeadm"), []byte(script), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	o := n.options()
	o.Runner = nil // the real ExecRunner
	o.Kubeadm = filepath.Join(bin, "kubeadm")
	require.NoError(t, firstboot.Run(context.Background(), o))
	n.checkNoSecrets()

	got, err := os.ReadFile(args)
	require.NoError(t, err)
	assert.Equal(t, "init --config "+n.path(firstboot.KubeadmConfig)+"\n", string(got))
	s := n.status()
	assert.Equal(t, firstboot.ResultSuccess, s.Result)
	require.NotNil(t, s.Kubeadm)
	assert.Equal(t, filepath.Join(bin, "kubeadm")+" init --config "+n.path(firstboot.KubeadmConfig), s.Kubeadm.Command)
	assert.Contains(t, n.log.String(), "Using token: <redacted>")
	assert.True(t, n.exists(firstboot.SuccessMarker))
}

func TestExecRunner(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	res, err := firstboot.ExecRunner{}.Run(context.Background(), firstboot.Cmd{Name: "sh", Args: []string{"-c", "echo out; echo err >&2; exit 7"}}, &log)
	require.Error(t, err)
	var re *firstboot.RunError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 7, re.ExitCode)
	assert.Equal(t, 7, res.ExitCode)
	assert.Equal(t, "out\nerr\n", string(res.Output))
	assert.Equal(t, "out\nerr\n", log.String())
	assert.Equal(t, "sh: exit code 7: exit status 7", err.Error())

	res, err = firstboot.ExecRunner{}.Run(context.Background(), firstboot.Cmd{Name: "/nonexistent/kubeadm"}, io.Discard)
	require.Error(t, err)
	assert.Equal(t, -1, res.ExitCode)

	res, err = firstboot.ExecRunner{}.Run(context.Background(), firstboot.Cmd{Name: "true"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
}

func TestRedactor(t *testing.T) {
	t.Parallel()
	var r firstboot.Redactor
	r.Add(cfgCertKey, "", "short")
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "registered secret", in: "key " + cfgCertKey + " end", want: "key <redacted> end"},
		{name: "any token", in: "--token " + printedToken + " \\", want: "--token <redacted-token> \\"},
		{name: "certificate key flag", in: "--certificate-key " + printedCertKey, want: "--certificate-key <redacted>"},
		{name: "certificate key flag with =", in: "--certificate-key=" + printedCertKey, want: "--certificate-key=<redacted>"},
		{name: "short values are not secrets", in: "short", want: "short"},
		{name: "CA hash stays", in: caHash, want: caHash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, r.String(tc.in))
		})
	}
}

func b64(s string) string {
	return base64.StdEncoding.EncodeToString([]byte(s))
}

// TestRunResumesAfterKubeadm: when kubeadm init succeeded but a later phase
// failed, the next boot must not reset the member node nor run kubeadm
// again; it resumes with the phases after kubeadm.
func TestRunResumesAfterKubeadm(t *testing.T) {
	t.Parallel()
	n := newNode(t, withCertKey(initConfig))
	n.runner.kubectlExit = 1
	require.ErrorIs(t, n.run(), firstboot.ErrFailed)
	assert.True(t, n.exists(firstboot.KubeadmDoneMarker))

	n.runner = &fakeRunner{root: n.root}
	require.NoError(t, n.run())
	assert.Equal(t, []string{
		"kubectl --kubeconfig ROOT/etc/kubernetes/admin.conf apply -f ROOT/etc/kubebake/cni.yaml",
		"bash -c echo third",
	}, n.runner.commands(n.root), "no reset, no second kubeadm init")
	s := n.status()
	assert.Equal(t, firstboot.ResultSuccess, s.Result)
	assert.Equal(t, 2, s.Attempt)
	assert.True(t, n.exists(firstboot.SuccessMarker))
	assert.False(t, n.exists(firstboot.FailureMarker))
}

func TestRunBridgeCNI(t *testing.T) {
	t.Parallel()
	getNode := "kubectl --kubeconfig ROOT/etc/kubernetes/kubelet.conf get node node-1 -o jsonpath={.spec.podCIDRs[*]}"
	join := "kubeadm join --config ROOT/etc/kubebake/kubeadm.yaml"
	for _, tc := range []struct {
		name       string
		cni        string
		podCIDRs   string
		waits      int
		wantCmds   []string
		wantWaits  []time.Duration
		wantRanges []string
		wantRoutes []string
		wantBridge string
	}{
		{
			name: "the node's allocated range, after waiting for it", cni: "cni:\n  bridge: {}\n",
			podCIDRs: "10.244.1.0/24", waits: 2,
			wantCmds:  []string{join, getNode, getNode, getNode},
			wantWaits: []time.Duration{5 * time.Second, 5 * time.Second}, wantRanges: []string{"10.244.1.0/24"},
			wantRoutes: []string{"0.0.0.0/0"}, wantBridge: "cni0",
		},
		{
			name: "dual stack", cni: "cni:\n  bridge: {name: br-pods}\n", podCIDRs: "10.244.1.0/24 fd00:10:244:1::/64",
			wantCmds: []string{join, getNode}, wantRanges: []string{"10.244.1.0/24", "fd00:10:244:1::/64"},
			wantRoutes: []string{"0.0.0.0/0", "::/0"}, wantBridge: "br-pods",
		},
		{
			name: "a range given in the config asks nothing", cni: "cni:\n  bridge: {subnet: 10.85.0.1/16}\n",
			wantCmds: []string{join}, wantRanges: []string{"10.85.0.0/16"}, wantRoutes: []string{"0.0.0.0/0"}, wantBridge: "cni0",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, joinConfig+tc.cni)
			n.runner.podCIDRs, n.runner.podCIDRWaits = tc.podCIDRs, tc.waits
			require.NoError(t, n.run())
			assert.Equal(t, tc.wantCmds, n.runner.commands(n.root))
			assert.Equal(t, tc.wantWaits, n.clock.waits())
			assert.Equal(t, []string{"config=success", "preflight=success", "hooks-before=success", "kubeadm=success", "cni=success", "hooks-after=success"}, phaseNames(n.status()))

			var conf struct {
				CNIVersion string `json:"cniVersion"`
				Plugins    []struct {
					Type   string `json:"type"`
					Bridge string `json:"bridge"`
					IPMasq bool   `json:"ipMasq"`
					IPAM   struct {
						Type   string                `json:"type"`
						Ranges [][]map[string]string `json:"ranges"`
						Routes []map[string]string   `json:"routes"`
					} `json:"ipam"`
				} `json:"plugins"`
			}
			require.NoError(t, json.Unmarshal([]byte(n.read(firstboot.BridgeConflist)), &conf))
			assert.Equal(t, fs.FileMode(0o644), n.mode(firstboot.BridgeConflist))
			assert.Equal(t, "1.0.0", conf.CNIVersion)
			require.Len(t, conf.Plugins, 2)
			assert.Equal(t, "portmap", conf.Plugins[1].Type)
			br := conf.Plugins[0]
			assert.Equal(t, "bridge", br.Type)
			assert.Equal(t, tc.wantBridge, br.Bridge)
			assert.True(t, br.IPMasq)
			assert.Equal(t, "host-local", br.IPAM.Type)
			var ranges, routes []string
			for _, r := range br.IPAM.Ranges {
				require.Len(t, r, 1)
				ranges = append(ranges, r[0]["subnet"])
			}
			for _, r := range br.IPAM.Routes {
				routes = append(routes, r["dst"])
			}
			assert.Equal(t, tc.wantRanges, ranges)
			assert.Equal(t, tc.wantRoutes, routes)
		})
	}
}

func TestRunBridgeCNINoPodRange(t *testing.T) {
	t.Parallel()
	n := newNode(t, joinConfig+"cni:\n  bridge: {}\ntimeouts:\n  podCIDR: 30s\n")
	err := n.run()
	require.ErrorIs(t, err, firstboot.ErrFailed)
	s := n.status()
	assert.Equal(t, firstboot.ResultFailure, s.Result)
	assert.Equal(t, "cni", s.Phase)
	assert.Contains(t, s.Error, "node node-1 has no pod range after 30s")
	assert.Contains(t, s.Error, "cluster.podSubnet")
	assert.Len(t, n.clock.waits(), 5, "polled every 5s until the 30s were up")
	assert.False(t, n.exists(firstboot.BridgeConflist))
	assert.True(t, n.exists(firstboot.KubeadmDoneMarker), "kubeadm succeeded: a later attempt resumes after it")
	lines := n.consoleLines()
	require.Len(t, lines, 1)
	assert.Contains(t, lines[0], "FAILED: cni phase")
}

func TestRunInitWithGivenCA(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubernetes"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	indent := func(s string) string { return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ") + "\n" }

	n := newNode(t, nodeConfigHdr+"role: init\nbootstrap:\n  caCert: |\n"+indent(certPEM)+"  caKey: |\n"+indent(keyPEM))
	n.runner.leakFile = firstboot.CAKeyFile
	require.NoError(t, n.run())
	assert.Equal(t, firstboot.ResultSuccess, n.status().Result)
	assert.Equal(t, certPEM, n.read(firstboot.CACertFile))
	assert.Equal(t, keyPEM, n.read(firstboot.CAKeyFile))
	assert.Equal(t, fs.FileMode(0o600), n.mode(firstboot.CAKeyFile))
	assert.Equal(t, fs.FileMode(0o644), n.mode(firstboot.CACertFile))
	assert.Contains(t, n.log.String(), "cluster CA from bootstrap.caCert written to /etc/kubernetes/pki/ca.crt")
	for _, line := range strings.Split(strings.TrimSpace(keyPEM), "\n") {
		if !strings.HasPrefix(line, "-----") {
			assert.NotContains(t, n.log.String(), line, "a line of the CA key in the log")
			assert.NotContains(t, n.read(firstboot.StatusFile), line, "a line of the CA key in the status")
		}
	}
}

const controlPlaneJoinConfig = nodeConfigHdr + `role: control-plane
cluster:
  controlPlaneEndpoint: 10.0.0.10:6443
bootstrap:
  token: ` + cfgToken + `
  caCertHashes: ["` + caHash + `"]
  certificateKey: CERTKEY
`

// TestRunControlPlaneJoinKeepsEtcdMember: a control-plane join that failed
// after adding the node's etcd member is not reset and retried (the reset
// would wipe the member without removing it when the control plane is
// unreachable, and a two-member etcd loses its quorum), in this boot or
// the next; one that failed before that retries as any join.
func TestRunControlPlaneJoinKeepsEtcdMember(t *testing.T) {
	t.Parallel()
	join := "kubeadm join --config ROOT/etc/kubebake/kubeadm.yaml"
	reset := "kubeadm reset --force --cri-socket " + criSocket

	t.Run("failed before etcd: reset and retry", func(t *testing.T) {
		t.Parallel()
		n := newNode(t, withCertKey(controlPlaneJoinConfig))
		n.runner.joinFailures = 1
		require.NoError(t, n.run())
		assert.Equal(t, []string{join, reset, join}, n.runner.commands(n.root))
	})

	t.Run("failed after etcd: no reset", func(t *testing.T) {
		t.Parallel()
		n := newNode(t, withCertKey(controlPlaneJoinConfig))
		n.runner.joinFailures, n.runner.joinEtcdAdded = -1, true
		err := n.run()
		require.ErrorIs(t, err, firstboot.ErrFailed)
		assert.Equal(t, []string{join}, n.runner.commands(n.root), "no reset, no second join")
		assert.Empty(t, n.clock.waits())
		s := n.status()
		assert.Equal(t, firstboot.ResultFailure, s.Result)
		assert.Equal(t, "kubeadm", s.Phase)
		assert.Contains(t, s.Error, "kubeadm join failed (exit code 1) after this node's etcd member was added: not resetting it")
		assert.Contains(t, s.Kubeadm.OutputTail, "kubelet-wait-bootstrap")
		lines := n.consoleLines()
		require.Len(t, lines, 1)
		assert.Contains(t, lines[0], "FAILED: kubeadm phase")

		// The next boot leaves the member alone too.
		n.write(firstboot.EtcdMemberDir+"/snap/db", "etcd data", 0o600)
		n.runner = &fakeRunner{root: n.root}
		require.ErrorIs(t, n.run(), firstboot.ErrFailed)
		assert.Empty(t, n.runner.commands(n.root), "nothing run: no reset")
		s = n.status()
		assert.Equal(t, firstboot.ResultFailure, s.Result)
		assert.Contains(t, s.Error, "a previous control-plane join left this node an etcd member (/var/lib/etcd/member): not resetting it")
		assert.True(t, n.exists(firstboot.EtcdMemberDir+"/snap/db"))
	})

	t.Run("a worker join is reset and retried whatever it printed", func(t *testing.T) {
		t.Parallel()
		n := newNode(t, joinConfig)
		n.runner.joinFailures, n.runner.joinEtcdAdded = 1, true
		require.NoError(t, n.run())
		assert.Equal(t, []string{join, reset, join}, n.runner.commands(n.root))
	})
}
