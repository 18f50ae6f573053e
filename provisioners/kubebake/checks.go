package kubebake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/kubebake/kubebake/internal/apply"
	"github.com/kubebake/kubebake/internal/firstbootbin"
	"github.com/kubebake/kubebake/internal/imagetest"
	"github.com/kubebake/kubebake/internal/sys"
	"github.com/kubebake/kubebake/recipes/render"
)

// runChecks runs the node checks on the machine and fails when one fails.
func runChecks(ctx context.Context, t apply.Target, p *render.Plan, out io.Writer) error {
	script, err := imagetest.InBuildScript(p)
	if err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(out, "kubebake: node checks\n")
	var buf bytes.Buffer
	code, err := t.Run(ctx, string(script), &buf)
	if err != nil {
		return fmt.Errorf("node checks: %w", err)
	}
	checks, rerr := imagetest.Results(buf.Bytes())
	var failed []string
	for _, c := range checks {
		verdict := "PASS"
		if !c.Passed {
			verdict = "FAIL"
			failed = append(failed, c.Name)
		}
		fmt.Fprintf(out, "  %s %s: %s\n", verdict, c.Name, c.Detail)
	}
	if rerr != nil {
		return fmt.Errorf("node checks: %w (exit code %d)\n--- output ---\n%s", rerr, code, sys.Tail(buf.Bytes(), 20))
	}
	if len(failed) > 0 {
		return fmt.Errorf("node checks failed: %s", strings.Join(failed, ", "))
	}
	fmt.Fprintf(out, "kubebake: %d node checks passed in %s\n", len(checks), time.Since(start).Round(time.Millisecond))
	return nil
}

// firstbootFor picks the embedded kubebake-firstboot for the machine's
// architecture.
func firstbootFor(ctx context.Context, t apply.Target) ([]byte, error) {
	var buf bytes.Buffer
	// sudo may warn on the same stream (an unresolvable host name): read
	// the marked line only.
	code, err := t.Run(ctx, `echo "KUBEBAKE-ARCH $(uname -m)"`, &buf)
	m := archRE.FindStringSubmatch(buf.String())
	if err != nil || code != 0 || m == nil {
		return nil, fmt.Errorf("uname -m on the machine: exit code %d: %v: %s", code, err, buf.String())
	}
	arch, err := firstbootbin.GOARCH(m[1])
	if err != nil {
		return nil, err
	}
	bin, err := firstbootbin.For(arch)
	if err != nil {
		return nil, errors.New("kubebake: " + err.Error())
	}
	return bin, nil
}

var archRE = regexp.MustCompile(`(?m)^KUBEBAKE-ARCH (\S+)\r?$`)
