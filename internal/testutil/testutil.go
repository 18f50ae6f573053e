// Package testutil holds what kubebake's tests share.
package testutil

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Tool returns the path of a validator program the tests run (shellcheck,
// cloud-init, ...). When it is missing the test is skipped, or fails when
// KUBEBAKE_REQUIRE_VALIDATORS=1 (make test and CI set it, after
// hack/validators.sh has installed them).
func Tool(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err == nil {
		return bin
	}
	msg := name + " not found: run hack/validators.sh"
	if os.Getenv("KUBEBAKE_REQUIRE_VALIDATORS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// FaultExit is the exit status a fault helper (see InjectFault) gives when
// the code under test reported the fault.
const FaultExit = 3

// InjectFault reruns the current test binary's test named run under strace
// with fault injected (strace -e inject=FAULT, e.g. write:error=ENOSPC),
// with env added to its environment, and returns its exit status and
// output. The test, when it sees env, is the helper: it exits FaultExit
// when the code under test returned an error and 0 when it did not, since
// an injected write fault fails its own output too.
func InjectFault(t testing.TB, run, fault string, env ...string) (int, []byte) {
	t.Helper()
	strace := Tool(t, "strace")
	cmd := exec.Command(strace, "-f", "-o", "/dev/null", "-e", "inject="+fault, os.Args[0], "-test.run=^"+run+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out
	case errors.As(err, &exit):
		return exit.ExitCode(), out
	}
	t.Fatalf("%s under strace: %v", run, err)
	return -1, out
}

// KillAfter reruns the current test binary's test named run with env added
// to its environment (the test, seeing env, loops over its writes), kills
// it with SIGKILL after d, and waits for it: one kill -9 at a point that
// moves with d.
func KillAfter(t testing.TB, run string, d time.Duration, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+run+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// Tmpfs mounts a tmpfs with opts (e.g. size=64k) on a new temporary
// directory until the test ends, for a file system that really runs out of
// space or inodes. It skips the test where mounting is not allowed (not
// root, or no mount privilege).
func Tmpfs(t testing.TB, opts string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "kubebake-test", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}

// DirNames lists the names in dir, sorted.
func DirNames(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// QcowCompressionType is the compression type qemu-img (the program
// qemuImg) reads in the header of the qcow2 at path: zlib or zstd.
func QcowCompressionType(t testing.TB, qemuImg, path string) string {
	t.Helper()
	js, err := exec.Command(qemuImg, "info", "--output=json", "-f", "qcow2", path).Output()
	if err != nil {
		t.Fatalf("qemu-img info %s: %v", path, err)
	}
	var info struct {
		Specific struct {
			Data struct {
				CompressionType string `json:"compression-type"`
			} `json:"data"`
		} `json:"format-specific"`
	}
	if err := json.Unmarshal(js, &info); err != nil {
		t.Fatalf("qemu-img info %s: %v", path, err)
	}
	return info.Specific.Data.CompressionType
}
