package firstboot_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/api"
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

// node is a temp root prepared as a node ready for kubeadm, with a fake
// runner, clock and log.
type node struct {
	t      *testing.T
	root   string
	runner *fakeRunner
	clock  *fakeClock
	log    *syncBuffer
	sock   net.Listener
	// api answers for the cluster's API server (default: unreachable).
	api firstboot.APIServer
}

// unreachable is an API server that never answers.
type unreachable struct{}

func (unreachable) Version(context.Context, string) (string, error) {
	return "", errors.New("connect: connection refused")
}

func (unreachable) SignedTokenIDs(context.Context, string) ([]string, error) {
	return nil, errors.New("connect: connection refused")
}

// newNode prepares a root (short enough for a unix socket path) with what
// preflight reads, a listening runtime socket, image.json and, unless
// empty, the NodeConfig at /etc/kubebake/node.yaml.
func newNode(t *testing.T, nodeConfig string) *node {
	t.Helper()
	root, err := os.MkdirTemp("", "fb")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(root) })
	n := &node{t: t, root: root, runner: &fakeRunner{root: root}, clock: newClock(), log: &syncBuffer{}, api: unreachable{}}
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
		Root:      n.root,
		Finder:    source.Finder{Root: n.root},
		Runner:    n.runner,
		Clock:     n.clock,
		Log:       n.log,
		Hostname:  func() (string, error) { return "Node-1", nil },
		APIServer: n.api,
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
