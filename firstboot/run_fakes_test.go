package firstboot_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kubebake/kubebake/firstboot"
)

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
	// joinOutput, when set, is what a failing join prints.
	joinOutput  string
	initExit    int
	kubectlExit int
	failHook    string
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
			if f.joinOutput != "" {
				return f.joinOutput, 1
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
