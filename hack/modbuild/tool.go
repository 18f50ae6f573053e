package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// tool is what a command works with: where the repository is, where its
// logs go, and its output. Progress and errors go to stderr as
// "NAME: ..."; the summary goes to stdout.
type tool struct {
	name   string // k8s-bin, k8s-images, cri-dockerd
	root   string // the repository root, absolute
	logDir string // where quietly writes its logs
	stdout io.Writer
	stderr io.Writer
	proxy  string // GOPROXY, once an error needed it
}

func newTool(name, root string, stdout, stderr io.Writer) (*tool, error) {
	abs, err := absRoot(root)
	if err != nil {
		return nil, err
	}
	return &tool{name: name, root: abs, stdout: stdout, stderr: stderr}, nil
}

// logf prints one line of progress.
func (t *tool) logf(format string, a ...any) {
	fmt.Fprintf(t.stderr, "%s: %s\n", t.name, fmt.Sprintf(format, a...))
}

// goproxy is `go env GOPROXY`, for messages about modules the proxy lacks.
func (t *tool) goproxy() string {
	if t.proxy == "" {
		out, _ := exec.Command("go", "env", "GOPROXY").Output()
		t.proxy = strings.TrimSpace(string(out))
	}
	return t.proxy
}

// lock takes an exclusive flock(2) on file, the lock flock(1) took in the
// scripts, so runs that share tools modules take turns. what names the
// other run in the message printed while waiting.
func (t *tool) lock(ctx context.Context, file, what string) (unlock func(), err error) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	unlock = func() { _ = f.Close() }
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		return unlock, nil
	}
	t.logf("waiting for %s to finish", what)
	locked := make(chan error, 1)
	go func() { locked <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err = <-locked:
	case <-ctx.Done(): // interrupted while waiting
		err = ctx.Err()
	}
	if err != nil {
		unlock()
		return nil, fmt.Errorf("lock %s: %w", file, err)
	}
	return unlock, nil
}

// buildDirs lays out a one-module build under _build/NAME: the tools
// module (tools/VERSION), the logs (VERSION/logs) and OUTDIR (default
// VERSION/bin), made and absolute. It takes the build's lock, which
// unlock releases: runs on one VERSION share the tools module and OUTDIR.
func (t *tool) buildDirs(ctx context.Context, name, version, outdir string) (tools, out string, unlock func(), err error) {
	base := filepath.Join(t.root, "_build", name)
	tools = filepath.Join(base, "tools", version)
	t.logDir = filepath.Join(base, version, "logs")
	if outdir == "" {
		outdir = filepath.Join(base, version, "bin")
	}
	for _, d := range []string{outdir, tools} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", "", nil, err
		}
	}
	if out, err = filepath.Abs(outdir); err != nil {
		return "", "", nil, err
	}
	unlock, err = t.lock(ctx, filepath.Join(base, ".lock-"+version), "another "+name+" run on "+version)
	if err != nil {
		return "", "", nil, err
	}
	return tools, out, unlock, nil
}

// sourceDate is the build time a reproducible build stamps, in layout:
// SOURCE_DATE_EPOCH (default 0) rather than the clock.
func sourceDate(epoch, layout string) (string, error) {
	if epoch == "" {
		epoch = "0"
	}
	n, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return "", fmt.Errorf("SOURCE_DATE_EPOCH='%s' is not a number of seconds", epoch)
	}
	return time.Unix(n, 0).UTC().Format(layout), nil
}

// run runs argv in dir with env added to the environment; its output goes
// to stderr (stdout is the summary's).
func (t *tool) run(ctx context.Context, dir string, env []string, argv ...string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = t.stderr, t.stderr
	return cmd.Run()
}

// quietly runs argv in dir with its output in logDir/LOGNAME.log; on
// failure it shows the log's last lines and its path.
func (t *tool) quietly(ctx context.Context, logName, dir string, argv ...string) error {
	if err := os.MkdirAll(t.logDir, 0o755); err != nil {
		return err
	}
	logf := filepath.Join(t.logDir, logName+".log")
	f, err := os.Create(logf)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	runErr := cmd.Run()
	if runErr == nil {
		return nil
	}
	if b, err := os.ReadFile(logf); err == nil {
		for _, l := range lastLines(string(b), 25) {
			fmt.Fprintf(t.stderr, "    %s\n", l)
		}
	}
	t.logf("(full output: %s)", logf)
	return runErr
}

// lastLines returns the last n lines of s, as tail -n does.
func lastLines(s string, n int) []string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if s == "" {
		return nil
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// probe asks a binary for its version: it runs it with args (for a minute
// at most, stderr ignored) and parse picks the version out of stdout. A
// binary that fails or cannot say reports "".
type probe struct {
	args  []string
	parse func(out string) string
}

func (p probe) version(ctx context.Context, path string) string {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, p.args...)
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return p.parse(string(out))
}

// firstLine is the first line of out.
func firstLine(out string) string {
	line, _, _ := strings.Cut(out, "\n")
	return line
}

// lastWord is the last word of out's first line ("pause (kubebake, Go)
// 3.10.2" -> "3.10.2").
func lastWord(out string) string {
	f := strings.Fields(firstLine(out))
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// after returns a parse func that picks the rest of the first line starting
// with prefix, as `sed -n 's/^PREFIX//p' | head -n 1` did.
func after(prefix string) func(string) string {
	return func(out string) string {
		for _, l := range strings.Split(out, "\n") {
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return rest
			}
		}
		return ""
	}
}

// goBuild is one binary to build from a module.
type goBuild struct {
	name    string // the binary, in messages and the temporary file's name
	dir     string // the module to build in
	pkg     string // the main package
	ldflags string
	tags    string // -tags, if any
	cgo     bool   // CGO_ENABLED=1 (C libraries linked in) instead of 0
	want    string // the version the binary must report
	probe   probe
}

// build builds b into out: CGO_ENABLED=0 (or 1 with b.cgo) go build -trimpath writes a
// temporary file next to out, which must report b.want, and is renamed to
// out. go build's own output goes to stderr.
func (t *tool) build(ctx context.Context, b goBuild, out string) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+b.name+".*")
	if err != nil {
		return err
	}
	_ = tmp.Close()
	defer func() { _ = os.Remove(tmp.Name()) }() // gone once renamed
	args := []string{"go", "build", "-trimpath"}
	if b.tags != "" {
		args = append(args, "-tags", b.tags)
	}
	args = append(args, "-ldflags", b.ldflags, "-o", tmp.Name(), b.pkg)
	cgo := "CGO_ENABLED=0"
	if b.cgo {
		cgo = "CGO_ENABLED=1"
	}
	if err := t.run(ctx, b.dir, []string{cgo}, args...); err != nil {
		return fmt.Errorf("go build of %s failed (%s, version %s, module %s); see the output above", b.name, b.pkg, b.want, b.dir)
	}
	if have := b.probe.version(ctx, tmp.Name()); have != b.want {
		return fmt.Errorf("%s was built but reports '%s' instead of %s (version ldflags not applied?)", b.name, orNothing(have), b.want)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// orNothing is s, or "nothing" when s is empty.
func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// executable reports whether p is a file someone may run.
func executable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// sameFile reports whether files a and b have the same bytes.
func sameFile(a, b string) bool {
	x, err := os.ReadFile(a)
	if err != nil {
		return false
	}
	y, err := os.ReadFile(b)
	return err == nil && bytes.Equal(x, y)
}

// mib is p's size in MiB.
func mib(p string) float64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / (1 << 20)
}

// seconds is the time since t0 with digits decimals, as the scripts'
// elapsed printed it.
func seconds(t0 time.Time, digits int) string {
	return fmt.Sprintf("%.*f", digits, time.Since(t0).Seconds())
}

// isUnavailable reports whether err says a module is not on the proxy, and
// returns it.
func isUnavailable(err error) (*unavailableError, bool) {
	var ue *unavailableError
	ok := errors.As(err, &ue)
	return ue, ok
}
