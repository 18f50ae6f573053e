package firstboot

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// preflight checks what kubeadm needs of the node, every check at once, and
// waits up to wait for the runtime's socket to answer.
func (a *agent) preflight(ctx context.Context, criSocket string, wait time.Duration) error {
	var missing []string
	if b, err := os.ReadFile(a.p.P("/proc/swaps")); err == nil {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 1 {
			missing = append(missing, fmt.Sprintf("swap is on (%d devices in /proc/swaps)", len(lines)-1))
		}
	}
	if !a.exists("/sys/module/overlay") && !a.contains("/proc/filesystems", "overlay") {
		missing = append(missing, "kernel module overlay is not loaded")
	}
	if !a.exists("/sys/module/br_netfilter") && !a.exists("/proc/sys/net/bridge/bridge-nf-call-iptables") {
		missing = append(missing, "kernel module br_netfilter is not loaded")
	}
	for _, s := range []string{
		"net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables", "net/ipv4/ip_forward",
	} {
		b, err := os.ReadFile(a.p.P("/proc/sys/" + s))
		if err != nil {
			missing = append(missing, "sysctl "+strings.ReplaceAll(s, "/", ".")+" is not available")
		} else if strings.TrimSpace(string(b)) != "1" {
			missing = append(missing, "sysctl "+strings.ReplaceAll(s, "/", ".")+" is "+strings.TrimSpace(string(b))+", not 1")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("node not ready for kubeadm: %s", strings.Join(missing, "; "))
	}
	return a.waitSocket(ctx, criSocket, wait)
}

func (a *agent) exists(p string) bool {
	_, err := os.Stat(a.p.P(p))
	return err == nil
}

func (a *agent) contains(p, word string) bool {
	b, err := os.ReadFile(a.p.P(p))
	return err == nil && strings.Contains(string(b), word)
}

// waitSocket waits until the runtime's unix socket accepts a connection.
func (a *agent) waitSocket(ctx context.Context, criSocket string, wait time.Duration) error {
	path := a.p.P(strings.TrimPrefix(criSocket, "unix://"))
	deadline := a.o.Clock.Now().Add(wait)
	for {
		conn, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if a.o.Clock.Now().After(deadline) {
			return fmt.Errorf("the container runtime does not answer on %s after %s: %v", criSocket, wait, err)
		}
		if err := a.o.Clock.Sleep(ctx, time.Second); err != nil {
			return err
		}
	}
}
