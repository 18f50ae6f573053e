package vm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ResolveAccel turns auto into kvm or tcg by probing KVM for real: /dev/kvm
// must open read-write, and the UEFI firmware must run under it and print
// on the serial console. (On some hosts /dev/kvm opens and the BIOS runs,
// but OVMF stops at once with "KVM internal error" and the machine hangs.)
// tcg is returned as asked; kvm is probed and refused when it does not work.
func ResolveAccel(ctx context.Context, mode, qemu string) (string, string, error) {
	switch mode {
	case AccelTCG:
		return AccelTCG, "asked for", nil
	case AccelKVM, AccelAuto, "":
		why := probeKVM(ctx, qemu)
		if why == "" {
			return AccelKVM, "KVM runs the UEFI firmware", nil
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
	work, err := os.MkdirTemp("", "kubebake-kvm-probe-")
	if err != nil {
		return err.Error()
	}
	defer os.RemoveAll(work)
	serial := filepath.Join(work, "serial.log")
	args := []string{"-accel", "kvm", "-machine", "q35", "-cpu", "host", "-m", "256",
		"-nodefaults", "-display", "none", "-no-reboot", "-monitor", "none", "-serial", "file:" + serial}
	code, vars, ferr := Firmware("", "", work)
	if ferr == nil {
		args = append(args,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+escape(code),
			"-drive", "if=pflash,format=raw,unit=1,file="+escape(vars))
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, qemu, args...)
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		return "cannot start " + qemu + ": " + err.Error()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-done
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			done <- err
			return "KVM does not run a guest here: " + firstLine(stderr.String(), err)
		case <-time.After(200 * time.Millisecond):
		}
		if strings.Contains(stderr.String(), "KVM internal error") {
			return "KVM does not run a guest here: KVM internal error (emulation failure)"
		}
		if ferr != nil {
			continue // no firmware to watch: running for the whole window is the test
		}
		if b, _ := os.ReadFile(serial); len(b) > 0 {
			return ""
		}
	}
	if ferr != nil {
		return ""
	}
	return "KVM does not run a guest here: the UEFI firmware printed nothing within 10s"
}

func firstLine(s string, err error) string {
	s = strings.TrimSpace(s)
	if s == "" && err != nil {
		return err.Error()
	}
	if i := strings.IndexByte(s, '\n'); i > 0 {
		return s[:i]
	}
	return s
}
