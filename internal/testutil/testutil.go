// Package testutil holds what kubebake's tests share.
package testutil

import (
	"os"
	"os/exec"
	"testing"
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
