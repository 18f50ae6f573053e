package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kubebake/kubebake/internal/shell"
	"github.com/kubebake/kubebake/internal/sys"
)

// SSH is a Target reached over SSH as a user with passwordless sudo.
type SSH struct {
	Client *ssh.Client
}

// DialSSH connects to addr as user with the private key signer, retrying
// until ctx is done or timeout passes (a booting machine refuses at first).
func DialSSH(ctx context.Context, addr, user string, signer ssh.Signer, timeout time.Duration) (*SSH, error) {
	cfg := &ssh.ClientConfig{
		User: user,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		// The machine was booted from our own seed a moment ago; its host
		// key is new and cannot be known in advance.
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec
		Timeout:         10 * time.Second,
	}
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		d := net.Dialer{Timeout: 10 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c, chans, reqs, herr := ssh.NewClientConn(conn, addr, cfg)
			if herr == nil {
				return &SSH{Client: ssh.NewClient(c, chans, reqs)}, nil
			}
			conn.Close()
			err = herr
		}
		lastErr = err
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("ssh %s@%s: not reachable within %s: %w", user, addr, timeout, lastErr)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
}

// Close closes the connection.
func (s *SSH) Close() error { return s.Client.Close() }

// Upload streams content into place through sudo, atomically.
func (s *SSH) Upload(ctx context.Context, dst string, content io.Reader, _ int64, mode os.FileMode) error {
	q := shell.Quote
	tmp := dst + ".kubebake-upload"
	script := fmt.Sprintf("mkdir -p %s && cat > %s && chmod %o %s && mv -f %s %s",
		q(path.Dir(dst)), q(tmp), mode.Perm(), q(tmp), q(tmp), q(dst))
	code, err := s.run(ctx, script, content, io.Discard, nil)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("upload %s: exit code %d", dst, code)
	}
	return nil
}

// Run runs the script with sudo bash.
func (s *SSH) Run(ctx context.Context, script string, out io.Writer) (int, error) {
	return s.run(ctx, script, nil, out, nil)
}

// Output runs the script with sudo bash and returns its standard output
// alone: what the script prints as data, free of what sudo or the script
// say on standard error (sudo warns about an unresolvable host name, say).
// A non-zero exit is an error that carries the standard error.
func (s *SSH) Output(ctx context.Context, script string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	code, err := s.run(ctx, script, nil, &stdout, &stderr)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("exit code %d: %s", code, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

func (s *SSH) run(ctx context.Context, script string, stdin io.Reader, out, errOut io.Writer) (int, error) {
	sess, err := s.Client.NewSession()
	if err != nil {
		return -1, fmt.Errorf("ssh session: %w", err)
	}
	defer sess.Close()
	if stdin != nil {
		sess.Stdin = stdin
	}
	if errOut == nil {
		w := &sys.LockedWriter{W: out}
		sess.Stdout, sess.Stderr = w, w
	} else {
		sess.Stdout, sess.Stderr = out, errOut
	}
	done := make(chan error, 1)
	go func() { done <- sess.Run("sudo -n bash -c " + shell.Quote(script)) }()
	select {
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGTERM)
		return -1, ctx.Err()
	case err := <-done:
		var exit *ssh.ExitError
		if errors.As(err, &exit) {
			return exit.ExitStatus(), nil
		}
		if err != nil {
			return -1, fmt.Errorf("ssh: %w", err)
		}
		return 0, nil
	}
}
