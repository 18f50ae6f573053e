package apply_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/kubebake/kubebake/internal/apply"
)

// sshServer is a minimal SSH server on loopback that runs each exec request
// with bash (the client's "sudo -n " prefix dropped) and returns its exit
// status. It accepts only the given client key.
func sshServer(t *testing.T, clientKey ssh.PublicKey) string {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	require.NoError(t, err)
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if bytes.Equal(k.Marshal(), clientKey.Marshal()) {
			return nil, nil
		}
		return nil, assert.AnError
	}}
	cfg.AddHostKey(hostSigner)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go serveSSH(conn, cfg)
		}
	}()
	return l.Addr().String()
}

func serveSSH(conn net.Conn, cfg *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, requests, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			for req := range requests {
				if req.Type != "exec" {
					req.Reply(false, nil)
					continue
				}
				n := binary.BigEndian.Uint32(req.Payload[:4])
				command := strings.TrimPrefix(string(req.Payload[4:4+n]), "sudo -n ")
				req.Reply(true, nil)
				cmd := exec.Command("bash", "-c", command)
				cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()

				code := 0
				if err := cmd.Run(); err != nil {
					code = 255
					if ee, ok := err.(*exec.ExitError); ok {
						code = ee.ExitCode()
					}
				}
				ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, uint32(code)))
				return
			}
		}()
	}
}

func TestSSHTarget(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	addr := sshServer(t, signer.PublicKey())
	ctx := context.Background()
	target, err := apply.DialSSH(ctx, addr, "kubebake-build", signer, 10*time.Second)
	require.NoError(t, err)
	defer target.Close()

	dir := t.TempDir()
	dst := filepath.Join(dir, "stage", "it's here", "step.sh")
	content := []byte("#!/bin/bash\necho \"$(printf 'hello %s' world)\"\nexit 3\n")
	require.NoError(t, target.Upload(ctx, dst, bytes.NewReader(content), int64(len(content)), 0o750))
	got, err := os.ReadFile(dst)
	require.NoError(t, err)
	assert.Equal(t, content, got)
	fi, err := os.Stat(dst)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o750), fi.Mode().Perm())

	var out bytes.Buffer
	code, err := target.Run(ctx, "bash '"+strings.ReplaceAll(dst, "'", `'\''`)+"'", &out)
	require.NoError(t, err)
	assert.Equal(t, 3, code)
	assert.Equal(t, "hello world\n", out.String())

	// Output is standard output alone: what sudo says on standard error
	// (it warns about an unresolvable host name) does not mix into data.
	data, err := target.Output(ctx, `echo "sudo: unable to resolve host kubebake-build" >&2; echo '{"images": []}'`)
	require.NoError(t, err)
	assert.Equal(t, "{\"images\": []}\n", string(data))
	_, err = target.Output(ctx, "echo broken >&2; exit 4")
	require.ErrorContains(t, err, "exit code 4: broken")

	// A key the server does not know is refused until the timeout.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, _ := ssh.NewSignerFromKey(other)
	_, err = apply.DialSSH(ctx, addr, "kubebake-build", otherSigner, time.Second)
	require.ErrorContains(t, err, "not reachable within 1s")
}
