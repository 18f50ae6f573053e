// How a run ends: the status saved, the success or failure markers and the
// console line.

package firstboot

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
	"unicode/utf8"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
)

// outcome says how a command failed: its exit code, or why it did not run.
func outcome(res Result, err error) string {
	if notStarted(err) {
		return err.Error()
	}
	return fmt.Sprintf("exit code %d", res.ExitCode)
}

func (a *agent) save() error {
	b, err := json.MarshalIndent(a.status, "", "  ")
	if err != nil {
		return err
	}
	b = []byte(a.red.String(string(b)))
	if err := writeFileAtomic(a.p.P(StatusFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	return nil
}

// finish stamps the end time and saves.
func (a *agent) finish() error {
	now := a.o.Clock.Now()
	a.status.FinishedAt = &now
	a.status.DurationSeconds = seconds(now.Sub(a.start))
	return a.save()
}

func (a *agent) succeed() error {
	a.status.Result = ResultSuccess
	a.status.Phase = "done"
	if err := a.finish(); err != nil {
		return err
	}
	_ = os.Remove(a.p.P(FailureMarker))
	for _, m := range []string{SuccessMarker, CAPISentinel} {
		if err := writeFileAtomic(a.p.P(m), []byte(a.status.FinishedAt.UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
			return err
		}
	}
	a.console(fmt.Sprintf("SUCCESS %s node %s %s (Kubernetes %s) in %.1fs", a.status.Role, a.status.Node, achieved(a.status.Role), a.status.KubernetesVersion, a.status.DurationSeconds))
	return nil
}

// achieved says what kubeadm did for a node of role.
func achieved(role string) string {
	switch role {
	case nodeconfig.RoleInit:
		return "created the cluster"
	case nodeconfig.RoleControlPlane:
		return "joined the control plane"
	default:
		return "joined the cluster"
	}
}

// fail records the failure everywhere and returns ErrFailed.
func (a *agent) fail(err error, exitCode int, outTail string) error {
	err = clipped{err}
	a.status.Result = ResultFailure
	a.status.Error = err.Error()
	a.status.Reason = reasonOf(err)
	if a.status.Kubeadm == nil && exitCode >= 0 {
		a.status.Kubeadm = &KubeadmResult{ExitCode: exitCode, OutputTail: outTail}
	}
	if serr := a.finish(); serr != nil {
		a.logf("status: %v", serr)
	}
	_ = writeFileAtomic(a.p.P(FailureMarker), []byte(a.red.String(err.Error())+"\n"), 0o644)
	a.console(fmt.Sprintf("FAILED: %s phase: %v", a.status.Phase, err))
	return fmt.Errorf("%w: %s", ErrFailed, a.red.String(err.Error()))
}

// maxReason bounds the reason a failure carries into status.json, the
// failure marker and the console line: an input may hold a field of many
// MiB, which must not be copied three times.
const maxReason = 4 << 10

// clipped is an error whose message is cut at maxReason bytes.
type clipped struct{ error }

func (c clipped) Error() string {
	msg := c.error.Error()
	if len(msg) <= maxReason {
		return msg
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... [%d more bytes]", msg[:cut], len(msg)-cut)
}

func (c clipped) Unwrap() error { return c.error }

// console writes the one result line to the console and the log.
func (a *agent) console(msg string) {
	line := a.red.String("kubebake-firstboot: "+msg) + "\n"
	io.WriteString(a.o.Log, line)
	path := a.o.ConsolePath
	if path == "-" {
		return
	}
	if path == "" {
		path = a.p.P(Console)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	io.WriteString(f, line)
}
