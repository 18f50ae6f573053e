package firstboot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kubebake/kubebake/firstboot/nodeconfig"
	"github.com/kubebake/kubebake/firstboot/source"
	"github.com/kubebake/kubebake/internal/atomicfile"
	"github.com/kubebake/kubebake/internal/sys"
)

// Options configure one run of the agent.
type Options struct {
	// Root prefixes every path the agent reads or writes (tests use a temp
	// dir); commands still run on the real system.
	Root string
	// Finder finds the NodeConfig; its Root should equal Root.
	Finder source.Finder
	// SkipRun stops after the config phase.
	SkipRun bool
	// Runner runs kubeadm, kubectl and hooks.
	Runner Runner
	// Clock tells time and waits.
	Clock Clock
	// Log receives progress lines, redacted.
	Log io.Writer
	// ConsolePath gets the one result line (default /dev/console under
	// Root); "-" writes it to Log only.
	ConsolePath string
	// Hostname returns the host name (default os.Hostname).
	Hostname func() (string, error)
	// Kubeadm and Kubectl name the binaries (default kubeadm and kubectl).
	Kubeadm, Kubectl string
	// APIServer answers what a join asks the cluster before and after
	// kubeadm (default HTTPAPIServer).
	APIServer APIServer
	// JoinBackoff is the first wait between join attempts (default 10s),
	// doubling up to JoinBackoffMax (default 60s).
	JoinBackoff, JoinBackoffMax time.Duration
}

// ErrFailed is returned when the node did not become a cluster member; the
// status file and console line say why.
var ErrFailed = errors.New("kubebake-firstboot failed")

type agent struct {
	o      Options
	p      Paths
	red    *Redactor
	status Status
	start  time.Time
}

// Run runs the agent once: config phase, then run phase unless skipped.
func Run(ctx context.Context, o Options) error {
	if o.Runner == nil {
		o.Runner = ExecRunner{}
	}
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Hostname == nil {
		o.Hostname = os.Hostname
	}
	if o.Kubeadm == "" {
		o.Kubeadm = "kubeadm"
	}
	if o.Kubectl == "" {
		o.Kubectl = "kubectl"
	}
	if o.APIServer == nil {
		o.APIServer = HTTPAPIServer{}
	}
	if o.JoinBackoff <= 0 {
		o.JoinBackoff = 10 * time.Second
	}
	if o.JoinBackoffMax <= 0 {
		o.JoinBackoffMax = 60 * time.Second
	}
	a := &agent{o: o, p: Paths{Root: o.Root}, red: &Redactor{}}
	return a.run(ctx)
}

func (a *agent) logf(format string, args ...any) {
	fmt.Fprintln(a.o.Log, a.red.String("kubebake-firstboot: "+fmt.Sprintf(format, args...)))
}

// logWriter streams command output to the log, redacted, line by line:
// output comes in chunks that may split a secret, so it keeps the last
// partial line until its end (or until flush).
type logWriter struct {
	a   *agent
	mu  sync.Mutex
	buf []byte
}

// maxPartialLine bounds what logWriter keeps of a line without its end.
const maxPartialLine = 64 << 10

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	n := bytes.LastIndexByte(w.buf, '\n') + 1
	if n == 0 && len(w.buf) > maxPartialLine {
		n = len(w.buf)
	}
	if n > 0 {
		line := string(w.buf[:n])
		w.buf = append(w.buf[:0], w.buf[n:]...)
		if _, err := io.WriteString(w.a.o.Log, w.a.red.String(line)); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// flush writes what is left of the last line.
func (w *logWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		io.WriteString(w.a.o.Log, w.a.red.String(string(w.buf)))
		w.buf = nil
	}
}

// runCmd runs c with its output streamed to the log, redacted.
func (a *agent) runCmd(ctx context.Context, c Cmd) (Result, error) {
	w := &logWriter{a: a}
	res, err := a.o.Runner.Run(ctx, c, w)
	w.flush()
	return res, err
}

func (a *agent) run(ctx context.Context) error {
	if _, err := os.Stat(a.p.P(SuccessMarker)); err == nil {
		a.logf("this node already joined its cluster (%s exists); nothing to do", SuccessMarker)
		return nil
	}
	// A run cut off (a power cut, kill -9) may have left the temporary
	// files of its atomic writes; this agent is their only writer.
	for _, d := range []string{StateDir, filepath.Dir(KubeadmConfig), PatchesDir, filepath.Dir(CACertFile)} {
		atomicfile.RemoveTemps(a.p.P(d))
	}
	prev, hadPrev, prevErr := readStatus(a.p.P(StatusFile))
	a.start = a.o.Clock.Now()
	a.status = Status{Result: ResultRunning, Phase: "config", StartedAt: a.start.UTC(), Phases: []PhaseDuration{}, Attempt: prev.Attempt + 1}
	if err := a.save(); err != nil {
		return err
	}

	var c *configured
	err := a.phase("config", func() error {
		var err error
		c, err = a.configPhase(ctx)
		return err
	})
	if errors.Is(err, errNoConfig) {
		a.logf("no NodeConfig found (looked in %s); nothing to do", strings.Join(a.o.Finder.Tried(), ", "))
		a.status.Result = ResultNoConfig
		a.status.Phases[len(a.status.Phases)-1].Result = ResultNoConfig
		return a.finish()
	}
	if err != nil {
		return a.fail(err, -1, "")
	}
	cfg := c.cfg
	a.status.Role, a.status.Node, a.status.Source = cfg.Role, cfg.Node.Name, c.source
	a.status.KubernetesVersion = cfg.Cluster.KubernetesVersion
	a.logf("config: %s node %s, Kubernetes %s, from %s; wrote %s", cfg.Role, cfg.Node.Name, cfg.Cluster.KubernetesVersion, c.source, KubeadmConfig)
	if a.o.SkipRun {
		a.status.Result = ResultConfigured
		return a.finish()
	}

	a.status.Phase = "preflight"
	if err := a.phase("preflight", func() error { return a.preflight(ctx, c.criSocket, cfg.Timeouts.Runtime.Duration) }); err != nil {
		return a.fail(err, -1, "")
	}
	// kubeadm may have succeeded in an earlier attempt that failed later
	// (CNI, hooks): never reset a node that is already a cluster member.
	if _, err := os.Stat(a.p.P(KubeadmDoneMarker)); err == nil {
		a.logf("kubeadm already succeeded in an earlier attempt; resuming after it")
		a.status.Kubeadm = prev.Kubeadm
		return a.afterKubeadm(ctx, cfg, 0)
	}
	_, failedBefore := os.Stat(a.p.P(FailureMarker))
	if prevErr != nil {
		// What the earlier attempt did is unknown: undo whatever it was.
		a.logf("the previous status (%s) is unreadable (%v): resetting before kubeadm", StatusFile, prevErr)
	}
	if failedBefore == nil || prevErr != nil || (hadPrev && (prev.Result == ResultRunning || prev.Result == ResultFailure) && prev.Phase != "config") {
		a.status.Phase = "reset"
		if cfg.Role == nodeconfig.RoleControlPlane && a.etcdMember(nil) {
			return a.fail(fmt.Errorf("a previous control-plane join left this node an etcd member (%s): %s", EtcdMemberDir, notResetting), -1, "")
		}
		if err := a.phase("reset", func() error { return a.reset(ctx, c.criSocket) }); err != nil {
			return a.fail(fmt.Errorf("reset after the previous attempt: %w", err), -1, "")
		}
	}
	a.status.Phase = "hooks-before"
	if err := a.phase("hooks-before", func() error { return a.hooks(ctx, cfg.Hooks.Before) }); err != nil {
		return a.fail(err, -1, "")
	}
	a.status.Phase = "kubeadm"
	var kres Result
	if err := a.phase("kubeadm", func() error {
		var err error
		kres, err = a.kubeadm(ctx, cfg, c)
		return err
	}); err != nil {
		return a.fail(err, kres.ExitCode, sys.Tail(kres.Output, 30))
	}
	if err := writeFileAtomic(a.p.P(KubeadmDoneMarker), []byte(a.o.Clock.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return a.fail(err, kres.ExitCode, "")
	}
	return a.afterKubeadm(ctx, cfg, kres.ExitCode)
}

// afterKubeadm runs what follows a successful kubeadm: post-init, the
// bridge CNI configuration and the after hooks.
func (a *agent) afterKubeadm(ctx context.Context, cfg *nodeconfig.NodeConfig, exitCode int) error {
	kres := Result{ExitCode: exitCode}
	if cfg.Role == nodeconfig.RoleInit {
		a.status.Phase = "post-init"
		if err := a.phase("post-init", func() error { return a.postInit(ctx, cfg) }); err != nil {
			return a.fail(err, kres.ExitCode, "")
		}
	}
	if cfg.CNI.Bridge != nil {
		a.status.Phase = "cni"
		if err := a.phase("cni", func() error { return a.bridgeCNI(ctx, cfg) }); err != nil {
			return a.fail(err, kres.ExitCode, "")
		}
	}
	a.status.Phase = "hooks-after"
	if err := a.phase("hooks-after", func() error { return a.hooks(ctx, cfg.Hooks.After) }); err != nil {
		return a.fail(err, kres.ExitCode, "")
	}
	return a.succeed()
}

// phase runs f and records how long it took.
func (a *agent) phase(name string, f func() error) error {
	start := a.o.Clock.Now()
	err := f()
	res := ResultSuccess
	if err != nil {
		res = ResultFailure
	}
	a.status.Phases = append(a.status.Phases, PhaseDuration{Name: name, Seconds: seconds(a.o.Clock.Now().Sub(start)), Result: res})
	if serr := a.save(); serr != nil && err == nil {
		err = serr
	}
	return err
}

func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

// reset undoes a failed or interrupted attempt.
func (a *agent) reset(ctx context.Context, criSocket string) error {
	a.logf("a previous attempt did not finish: kubeadm reset")
	_, err := a.runCmd(ctx, Cmd{a.o.Kubeadm, []string{"reset", "--force", "--cri-socket", criSocket}})
	_ = os.Remove(a.p.P(FailureMarker))
	return err
}

func (a *agent) hooks(ctx context.Context, hooks []nodeconfig.Hook) error {
	for _, h := range hooks {
		a.logf("hook %s", h.Name)
		if _, err := a.runCmd(ctx, Cmd{"bash", []string{"-c", h.Run}}); err != nil {
			return fmt.Errorf("hook %s: %w", h.Name, err)
		}
	}
	return nil
}

// kubeadm runs kubeadm init, or join with retries and backoff until the
// control-plane timeout.
func (a *agent) kubeadm(ctx context.Context, cfg *nodeconfig.NodeConfig, c *configured) (Result, error) {
	criSocket := c.criSocket
	cfgPath := a.p.P(KubeadmConfig)
	if cfg.Role == nodeconfig.RoleInit {
		if err := a.writeCA(cfg.Bootstrap); err != nil {
			return Result{ExitCode: -1}, err
		}
		args := []string{"init", "--config", cfgPath}
		if cfg.Bootstrap.UploadCerts {
			args = append(args, "--upload-certs")
		}
		cmd := Cmd{a.o.Kubeadm, args}
		a.logf("running %s", cmd)
		res, err := a.runCmd(ctx, cmd)
		a.status.Kubeadm = &KubeadmResult{Command: cmd.String(), ExitCode: res.ExitCode, Attempts: 1, OutputTail: a.red.String(sys.Tail(res.Output, 30))}
		if err != nil {
			return res, fmt.Errorf("kubeadm init failed (%s)", outcome(res, err))
		}
		return res, nil
	}
	cmd := Cmd{a.o.Kubeadm, []string{"join", "--config", cfgPath}}
	deadline := a.o.Clock.Now().Add(cfg.Timeouts.ControlPlane.Duration)
	backoff := a.o.JoinBackoff
	for attempt := 1; ; attempt++ {
		if err := a.skewBeforeJoin(ctx, cfg.Role, cfg.Cluster.ControlPlaneEndpoint, c.kubeletVersion); err != nil {
			return Result{ExitCode: -1}, err
		}
		a.logf("running %s (attempt %d)", cmd, attempt)
		res, err := a.runCmd(ctx, cmd)
		a.status.Kubeadm = &KubeadmResult{Command: cmd.String(), ExitCode: res.ExitCode, Attempts: attempt, OutputTail: a.red.String(sys.Tail(res.Output, 30))}
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if notStarted(err) {
			// It did not start (not found, not executable): a retry will
			// not change that.
			return res, fmt.Errorf("kubeadm join failed (%s)", outcome(res, err))
		}
		if cfg.Role == nodeconfig.RoleControlPlane && a.etcdMember(res.Output) {
			return res, fmt.Errorf("kubeadm join failed (exit code %d) after this node's etcd member was added: %s", res.ExitCode, notResetting)
		}
		if derr := a.definiteJoinFailure(ctx, cfg.Cluster.ControlPlaneEndpoint, res.Output); derr != nil {
			return res, derr
		}
		if !a.o.Clock.Now().Add(backoff).Before(deadline) {
			return res, fmt.Errorf("kubeadm join failed %d times over %s (last exit code %d)", attempt, cfg.Timeouts.ControlPlane.Duration, res.ExitCode)
		}
		a.logf("kubeadm join failed (exit code %d); the control plane may not be up yet: reset, retry in %s", res.ExitCode, backoff)
		_ = a.save()
		if _, err := a.runCmd(ctx, Cmd{a.o.Kubeadm, []string{"reset", "--force", "--cri-socket", criSocket}}); err != nil {
			a.logf("kubeadm reset: %v", err)
		}
		if err := a.o.Clock.Sleep(ctx, backoff); err != nil {
			return res, err
		}
		backoff *= 2
		if backoff > a.o.JoinBackoffMax {
			backoff = a.o.JoinBackoffMax
		}
	}
}

// notResetting says why a control-plane node that became an etcd member is
// left as it is.
const notResetting = "not resetting it: kubeadm reset wipes the member's data and removes it only " +
	"through a reachable control plane, so a member left behind can cost etcd its quorum " +
	"(with two members, at once) or block the next join; remove the member (etcdctl member remove) " +
	"or finish the join by hand"

// etcdAdded is what kubeadm prints once it has added a control-plane
// node's etcd member (as a learner, promoted later) to the cluster.
const etcdAdded = `[etcd] Creating static Pod manifest for "etcd"`

// etcdMember reports whether a control-plane join made this node an etcd
// member: kubeadm's output says it added the member, or the local etcd's
// member directory exists.
func (a *agent) etcdMember(kubeadmOutput []byte) bool {
	if bytes.Contains(kubeadmOutput, []byte(etcdAdded)) {
		return true
	}
	entries, err := os.ReadDir(a.p.P(EtcdMemberDir))
	return err == nil && len(entries) > 0
}

// writeCA puts a CA chosen up front where kubeadm init takes it instead of
// generating one. It runs before every attempt: kubeadm reset empties the
// pki directory.
func (a *agent) writeCA(b nodeconfig.Bootstrap) error {
	if b.CAKey == "" {
		return nil
	}
	if err := writeFileAtomic(a.p.P(CACertFile), []byte(b.CACert), 0o644); err != nil {
		return fmt.Errorf("cluster CA: %w", err)
	}
	if err := writeFileAtomic(a.p.P(CAKeyFile), []byte(b.CAKey), 0o600); err != nil {
		return fmt.Errorf("cluster CA key: %w", err)
	}
	a.logf("cluster CA from bootstrap.caCert written to %s", CACertFile)
	return nil
}

// postInit keeps the admin kubeconfig root-only and applies the CNI
// manifest.
func (a *agent) postInit(ctx context.Context, cfg *nodeconfig.NodeConfig) error {
	admin := a.p.P(AdminConf)
	if err := os.Chmod(admin, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("admin kubeconfig: %w", err)
	}
	if cfg.CNI.Manifest == "" {
		return nil
	}
	cmd := Cmd{a.o.Kubectl, []string{"--kubeconfig", admin, "apply", "-f", a.p.P(cfg.CNI.Manifest)}}
	var err error
	for attempt := 1; attempt <= 6; attempt++ {
		a.logf("applying CNI manifest %s (attempt %d)", cfg.CNI.Manifest, attempt)
		if _, err = a.runCmd(ctx, cmd); err == nil {
			return nil
		}
		if attempt == 6 {
			break // no wait after the last attempt
		}
		if serr := a.o.Clock.Sleep(ctx, 10*time.Second); serr != nil {
			return serr
		}
	}
	return fmt.Errorf("apply CNI manifest %s: %w", cfg.CNI.Manifest, err)
}
