package vm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// ResolveAccel turns auto into kvm or tcg by probing KVM: /dev/kvm must
// open read-write and QEMU must run a guest on it for a moment without
// failing. kvm and tcg are returned as asked (kvm is probed and refused
// when it does not work).
func ResolveAccel(ctx context.Context, mode, qemu string) (string, string, error) {
	switch mode {
	case AccelTCG:
		return AccelTCG, "asked for", nil
	case AccelKVM, AccelAuto, "":
		why := probeKVM(ctx, qemu)
		if why == "" {
			return AccelKVM, "KVM works", nil
		}
		if mode == AccelKVM {
			return "", "", fmt.Errorf("accelerator kvm: %s", why)
		}
		return AccelTCG, why, nil
	}
	return "", "", fmt.Errorf("accelerator %q: want auto, kvm or tcg", mode)
}

// probeKVM returns why KVM cannot be used, or "" when it works.
func probeKVM(ctx context.Context, qemu string) string {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return "/dev/kvm: " + err.Error()
	}
	f.Close()
	if qemu == "" {
		qemu = "qemu-system-x86_64"
	}
	// Run the firmware for two seconds: a broken KVM fails at once with
	// "KVM internal error" or an ioctl error.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, qemu, "-accel", "kvm", "-machine", "q35", "-cpu", "host", "-m", "64",
		"-nodefaults", "-display", "none", "-no-reboot", "-serial", "none", "-monitor", "none").CombinedOutput()
	if ctx.Err() == context.DeadlineExceeded {
		return "" // still running: KVM works
	}
	msg := strings.TrimSpace(string(out))
	if msg == "" && err != nil {
		msg = err.Error()
	}
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	return "KVM does not run a guest here: " + msg
}
