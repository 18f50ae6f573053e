package acc

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pkg/sftp"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// machine is the target double of the null-builder build: a real SSH
// server (Packer's own SSH communicator and SFTP talk to it) that stores
// uploads on this machine's filesystem, and answers commands by reading
// the script Packer runs instead of executing it, so nothing is installed
// here. Scripts that install a staged file move it under root (a fake /);
// `uname -m` answers x86_64; the node checks all pass; step scripts are
// logged to root/steps.log in the order they ran.
type machine struct {
	t    *testing.T
	root string
	addr string
	key  string
	mu   sync.Mutex
}

var (
	runRE     = regexp.MustCompile(`sudo -n (\S+\.sh)$`)
	installRE = regexp.MustCompile(`(?m)^install -D -o root -g root -m (\d+) -- '?([^' ]+)'? '?([^' \n]+)'?$`)
	stepRE    = regexp.MustCompile(`exec bash '?\S+/steps/\d+-([a-z0-9-]+)\.sh`)
	checkRE   = regexp.MustCompile(`(?m)^check (\S+) `)
)

func startMachine(t *testing.T) *machine {
	t.Helper()
	dir := t.TempDir()
	m := &machine{t: t, root: filepath.Join(dir, "root")}
	require.NoError(t, os.MkdirAll(m.root, 0o755))
	_, hostKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	hostSigner, err := ssh.NewSignerFromKey(hostKey)
	require.NoError(t, err)
	_, userKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	userSigner, err := ssh.NewSignerFromKey(userKey)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(userKey, "")
	require.NoError(t, err)
	m.key = filepath.Join(dir, "id_ed25519")
	require.NoError(t, os.WriteFile(m.key, pem.EncodeToMemory(block), 0o600))
	want := string(userSigner.PublicKey().Marshal())
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if string(k.Marshal()) == want {
			return nil, nil
		}
		return nil, fmt.Errorf("unknown key")
	}}
	cfg.AddHostKey(hostSigner)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	m.addr = l.Addr().String()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go m.serve(c, cfg)
		}
	}()
	return m
}

func (m *machine) port() string { _, p, _ := net.SplitHostPort(m.addr); return p }

func (m *machine) serve(c net.Conn, cfg *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "session only")
			continue
		}
		ch, in, err := nc.Accept()
		if err != nil {
			continue
		}
		go m.session(ch, in)
	}
}

func (m *machine) session(ch ssh.Channel, in <-chan *ssh.Request) {
	defer ch.Close()
	for req := range in {
		switch req.Type {
		case "subsystem":
			if string(req.Payload[4:]) != "sftp" {
				req.Reply(false, nil)
				continue
			}
			req.Reply(true, nil)
			srv, err := sftp.NewServer(ch)
			if err == nil {
				_ = srv.Serve()
			}
			return
		case "exec":
			n := binary.BigEndian.Uint32(req.Payload)
			cmd := string(req.Payload[4 : 4+n])
			req.Reply(true, nil)
			code := m.exec(cmd, ch, ch.Stderr())
			ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, uint32(code)))
			return
		case "env", "pty-req":
			req.Reply(true, nil)
		default:
			req.Reply(false, nil)
		}
	}
}

// exec answers one command as the target double.
func (m *machine) exec(cmd string, out, errOut io.Writer) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := runRE.FindStringSubmatch(strings.TrimSpace(cmd))
	if r == nil {
		fmt.Fprintf(errOut, "double: unexpected command %q\n", cmd)
		return 127
	}
	b, err := os.ReadFile(r[1])
	if err != nil {
		fmt.Fprintf(errOut, "double: %v\n", err)
		return 1
	}
	os.Remove(r[1])
	script := string(b)
	switch {
	case installRE.MatchString(script):
		i := installRE.FindStringSubmatch(script)
		dst := filepath.Join(m.root, i[3])
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			fmt.Fprintln(errOut, err)
			return 1
		}
		if err := os.Rename(i[2], dst); err != nil {
			fmt.Fprintln(errOut, err)
			return 1
		}
		var mode uint32
		fmt.Sscanf(i[1], "%o", &mode)
		os.Chmod(dst, os.FileMode(mode))
	case strings.Contains(script, "KUBEBAKE-ARCH $(uname -m)"):
		io.WriteString(out, "sudo: unable to resolve host x: Name or service not known\nKUBEBAKE-ARCH x86_64\n")
	case strings.Contains(script, "KUBEBAKE-TEST-DONE"):
		checks := checkRE.FindAllStringSubmatch(script, -1)
		for _, c := range checks {
			fmt.Fprintf(out, "KUBEBAKE-CHECK PASS %s (target double)\n", c[1])
		}
		fmt.Fprintf(out, "KUBEBAKE-TEST-DONE %d\n", len(checks))
		m.log("checks")
	case stepRE.MatchString(script):
		step := stepRE.FindStringSubmatch(script)[1]
		m.log(step)
		fmt.Fprintf(out, "double ran step %s\n", step)
	case strings.Contains(script, "\nrm -rf "):
		m.log("stage-removed")
	default:
		fmt.Fprintf(errOut, "double: unexpected script:\n%s\n", script)
		return 127
	}
	return 0
}

func (m *machine) log(line string) {
	f, err := os.OpenFile(filepath.Join(m.root, "steps.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}
