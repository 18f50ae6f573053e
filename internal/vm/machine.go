package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/kubebake/kubebake/internal/sys"
)

// Machine is a running QEMU process.
type Machine struct {
	cmd    *exec.Cmd
	serial string
	stderr bytes.Buffer
	done   chan struct{}
	err    error
	once   sync.Once
}

// Start runs qemu with args; serialLog is the file given in Config.SerialLog.
func Start(qemu string, args []string, serialLog string) (*Machine, error) {
	if qemu == "" {
		qemu = "qemu-system-x86_64"
	}
	m := &Machine{serial: serialLog, done: make(chan struct{})}
	m.cmd = exec.Command(qemu, args...)
	m.cmd.Stdout = &m.stderr
	m.cmd.Stderr = &m.stderr
	m.cmd.SysProcAttr = procAttr()
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", qemu, err)
	}
	go func() {
		m.err = m.cmd.Wait()
		close(m.done)
	}()
	return m, nil
}

// Done is closed when QEMU has exited.
func (m *Machine) Done() <-chan struct{} { return m.done }

// ExitReason says how QEMU ended and what it printed, once it has exited.
func (m *Machine) ExitReason() string {
	if !m.Exited() {
		return ""
	}
	return fmt.Sprintf("%v: %s", m.err, bytes.TrimSpace(m.stderr.Bytes()))
}

// Exited reports whether QEMU has exited.
func (m *Machine) Exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for QEMU to exit (the guest powered off).
func (m *Machine) Wait(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-m.done:
		if m.err != nil {
			return fmt.Errorf("qemu: %v: %s", m.err, bytes.TrimSpace(m.stderr.Bytes()))
		}
		return nil
	case <-t.C:
		return fmt.Errorf("the machine did not power off within %s", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pid is QEMU's process ID.
func (m *Machine) Pid() int { return m.cmd.Process.Pid }

// Stop ends QEMU: SIGTERM, then SIGKILL after grace. Safe to call twice.
func (m *Machine) Stop(grace time.Duration) {
	m.once.Do(func() {
		if m.Exited() {
			return
		}
		_ = sys.KillGroup(m.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-m.done:
		case <-time.After(grace):
			_ = sys.KillGroup(m.cmd.Process.Pid, syscall.SIGKILL)
			<-m.done
		}
	})
}

// Serial returns the serial console so far.
func (m *Machine) Serial() []byte {
	b, _ := os.ReadFile(m.serial)
	return b
}

// WaitFile is WaitSerial for another file the machine writes (a second
// serial port).
func (m *Machine) WaitFile(ctx context.Context, path string, re *regexp.Regexp, timeout time.Duration) ([]byte, error) {
	return m.waitIn(ctx, path, re, timeout)
}

// ErrExited means QEMU exited while a marker was awaited.
var ErrExited = errors.New("the machine exited")

// ErrPanicked means the guest's kernel panicked while a marker was
// awaited: the machine will not get further, so there is no point waiting
// out the timeout (under TCG a kernel now and then dies in early boot).
var ErrPanicked = errors.New("the guest's kernel panicked")

// panicRE is the kernel's last word on the console.
var panicRE = regexp.MustCompile(`Kernel panic - not syncing:[^\r\n]*`)

// WaitSerial waits until the serial console matches re and returns the
// match, polling every interval. It fails when QEMU exits first, the
// guest's kernel panics or the timeout passes.
func (m *Machine) WaitSerial(ctx context.Context, re *regexp.Regexp, timeout time.Duration) ([]byte, error) {
	return m.waitIn(ctx, m.serial, re, timeout)
}

func (m *Machine) waitIn(ctx context.Context, path string, re *regexp.Regexp, timeout time.Duration) ([]byte, error) {
	read := func() []byte {
		b, _ := os.ReadFile(path)
		return b
	}
	deadline := time.Now().Add(timeout)
	for {
		data := read()
		if match := re.Find(data); match != nil {
			return match, nil
		}
		if path == m.serial {
			if p := panicRE.Find(data); p != nil {
				return nil, fmt.Errorf("%w before %q appeared on the serial console: %s", ErrPanicked, re, p)
			}
		}
		if m.Exited() {
			if match := re.Find(read()); match != nil {
				return match, nil
			}
			return nil, fmt.Errorf("%w before %q appeared on the serial console: %s", ErrExited, re, bytes.TrimSpace(m.stderr.Bytes()))
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%q did not appear on the serial console within %s", re, timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// FreePort returns a TCP port on the loopback address that is free now,
// for forwarding the guest's sshd.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
