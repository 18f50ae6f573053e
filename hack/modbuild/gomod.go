package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// Module is one object of `go mod download -json`'s output.
type Module struct {
	Path    string
	Version string
	Dir     string // the extracted module, when downloaded
	Error   string // why it could not be, e.g. the proxy's 403
	Origin  *Origin
}

// Origin is where the proxy says a module version comes from.
type Origin struct {
	Hash string // the VCS commit
}

// Hash is the commit the proxy names for m's version, often "".
func (m Module) Hash() string {
	if m.Origin == nil {
		return ""
	}
	return m.Origin.Hash
}

// Problem is m's error on one line.
func (m Module) Problem() string {
	return strings.NewReplacer("\n\t", " ", "\n", " ").Replace(m.Error)
}

// readModules reads `go mod download -json` output: JSON objects one after
// another.
func readModules(r io.Reader) ([]Module, error) {
	var mods []Module
	dec := json.NewDecoder(r)
	for {
		var m Module
		err := dec.Decode(&m)
		if err == io.EOF {
			return mods, nil
		}
		if err != nil {
			return mods, fmt.Errorf("reading go mod download -json: %w", err)
		}
		mods = append(mods, m)
	}
}

// download runs `go mod download -json` for mods (MODULE@VERSION) in dir
// and returns one Module per argument, in order; a module the output does
// not mention gets an Error saying so. It fails only when go cannot run.
func (t *tool) download(ctx context.Context, dir string, mods ...string) ([]Module, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", append([]string{"mod", "download", "-json"}, mods...)...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return nil, fmt.Errorf("go mod download: %w", err)
	}
	got, jsonErr := readModules(&stdout)
	byArg := map[string]Module{}
	for _, m := range got {
		byArg[m.Path+"@"+m.Version] = m
	}
	out := make([]Module, len(mods))
	for i, arg := range mods {
		m, ok := byArg[arg]
		if !ok {
			path, version, _ := strings.Cut(arg, "@")
			why := strings.Join(lastLines(stderr.String(), 3), " ")
			if jsonErr != nil {
				why = jsonErr.Error()
			}
			m = Module{Path: path, Version: version, Error: fmt.Sprintf("go mod download gave no answer (%s)", orNothing(why))}
		}
		out[i] = m
	}
	return out, nil
}

// unavailableError says a module could not be downloaded from the proxy.
type unavailableError struct {
	mod   string // MODULE@VERSION
	why   string // the proxy's answer, on one line
	proxy string // GOPROXY
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("module %s is not available from %s: %s", e.mod, e.proxy, e.why)
}

// replace is one replace directive.
type replace struct {
	Old, New module.Version
}

func (r replace) String() string {
	s := r.Old.Path
	if r.Old.Version != "" {
		s += " " + r.Old.Version
	}
	s += " => " + r.New.Path
	if r.New.Version != "" {
		s += " " + r.New.Version
	}
	return s
}

// replacesOf returns the replace directives of the go.mod of the
// downloaded module m.
func replacesOf(m Module) ([]replace, error) {
	file := filepath.Join(m.Dir, "go.mod")
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s@%s: no go.mod in %s", m.Path, m.Version, m.Dir)
	}
	f, err := modfile.Parse(file, data, nil)
	if err != nil {
		return nil, err
	}
	reps := make([]replace, 0, len(f.Replace))
	for _, r := range f.Replace {
		reps = append(reps, replace{Old: r.Old, New: r.New})
	}
	return reps, nil
}

// stagingModules sorts Kubernetes' replace directives: staging holds the
// modules replaced by ./staging/src/k8s.io/X, verbatim the replaces by
// other modules (kept as they are) and local the replaces by other local
// paths (left out).
func stagingModules(reps []replace) (staging []string, verbatim, local []replace) {
	for _, r := range reps {
		switch {
		case !modfile.IsDirectoryPath(r.New.Path):
			verbatim = append(verbatim, r)
		case strings.HasPrefix(r.New.Path, "./staging/"):
			staging = append(staging, r.Old.Path)
		default:
			local = append(local, r)
		}
	}
	return staging, verbatim, local
}

// stagingReplaces replaces each staging module by its own release at
// version, for the modules the proxy has (have); the others are skipped.
func stagingReplaces(staging []string, version string, have map[string]bool) (reps []replace, skipped []string) {
	for _, m := range staging {
		if !have[m] {
			skipped = append(skipped, m)
			continue
		}
		reps = append(reps, replace{Old: module.Version{Path: m}, New: module.Version{Path: m, Version: version}})
	}
	return reps, skipped
}

// copyReplaces checks that a tools module can carry reps as they are:
// replaces by local paths need the upstream source tree.
func copyReplaces(mod string, reps []replace) ([]replace, error) {
	for _, r := range reps {
		if modfile.IsDirectoryPath(r.New.Path) {
			return nil, fmt.Errorf("%s replaces %s with the local path %s, which a tools module cannot reproduce", mod, r.Old.Path, r.New.Path)
		}
	}
	return reps, nil
}

// withReplaces adds reps to the go.mod data, as `go mod edit -replace` does.
func withReplaces(data []byte, reps []replace) ([]byte, error) {
	f, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		return nil, err
	}
	for _, r := range reps {
		if err := f.AddReplace(r.Old.Path, r.Old.Version, r.New.Path, r.New.Version); err != nil {
			return nil, err
		}
	}
	f.SortBlocks()
	f.Cleanup()
	return modfile.Format(f.Syntax), nil
}

// readyFile records a tools module's setup: its modules, then the main
// module's commit hash and directory.
const readyFile = ".kubebake-ready"

// toolsModule is a generated module (under _build/, never committed) that
// requires pinned modules, so their binaries build with the dependency
// versions upstream chose and the repository's go.mod is never touched.
type toolsModule struct {
	dir  string
	name string   // kubebake.local/NAME; the logs are go-get-NAME etc.
	mods []string // MODULE@VERSION, pinned; the first is the main module
	get  []string // what go get adds (default mods): packages with their dependencies
	// prepare, when set, looks at the main module's download and returns the
	// replace directives the tools module carries (upstream's, copied or
	// rewritten, since Go ignores the replaces of a dependency).
	prepare func(ctx context.Context, main Module) ([]replace, error)
}

func (m toolsModule) key() string { return strings.Join(m.mods, " ") }

// ready returns the main module as the last setup recorded it, if that
// setup was for the same modules and is complete.
func (m toolsModule) ready() (Module, bool) {
	b, err := os.ReadFile(filepath.Join(m.dir, readyFile))
	if err != nil {
		return Module{}, false
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 3 || lines[0] != m.key() || lines[2] == "" {
		return Module{}, false
	}
	for _, f := range []string{filepath.Join(m.dir, "go.sum"), filepath.Join(lines[2], "go.mod")} {
		if _, err := os.Stat(f); err != nil {
			return Module{}, false
		}
	}
	path, version, _ := strings.Cut(m.mods[0], "@")
	return Module{Path: path, Version: version, Dir: lines[2], Origin: &Origin{Hash: lines[1]}}, true
}

// recordedVersion is the version of the main module the last setup of the
// tools module in dir was for ("" if none).
func recordedVersion(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, readyFile))
	if err != nil {
		return ""
	}
	first, _, _ := strings.Cut(firstLine(string(b)), " ")
	if _, v, ok := strings.Cut(first, "@"); ok {
		return v
	}
	return first // as the shell scripts recorded it
}

// setup makes m.dir a tools module for m.mods, unless it already is (cached),
// and returns the main module's download. A module the proxy does not have
// gives an *unavailableError.
func (t *tool) setup(ctx context.Context, m toolsModule) (main Module, cached bool, err error) {
	if main, ok := m.ready(); ok {
		return main, true, nil
	}
	t.logf("setting up tools module %s for %s", m.dir, m.key())
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return Module{}, false, err
	}
	for _, f := range []string{"go.mod", "go.sum", readyFile} {
		if err := os.Remove(filepath.Join(m.dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Module{}, false, err
		}
	}
	if err := t.quietly(ctx, "go-mod-init-"+m.name, m.dir, "go", "mod", "init", "kubebake.local/"+m.name); err != nil {
		return Module{}, false, fmt.Errorf("go mod init failed in %s", m.dir)
	}
	mods, err := t.download(ctx, m.dir, m.mods...)
	if err != nil {
		return Module{}, false, err
	}
	for i, mod := range mods {
		if mod.Error != "" {
			return Module{}, false, &unavailableError{mod: m.mods[i], why: mod.Problem(), proxy: t.goproxy()}
		}
	}
	main = mods[0]
	if m.prepare != nil {
		reps, err := m.prepare(ctx, main)
		if err != nil {
			return Module{}, false, err
		}
		gomod := filepath.Join(m.dir, "go.mod")
		data, err := os.ReadFile(gomod)
		if err == nil {
			data, err = withReplaces(data, reps)
		}
		if err == nil {
			err = os.WriteFile(gomod, data, 0o644)
		}
		if err != nil {
			return Module{}, false, fmt.Errorf("adding replace directives to %s: %w", gomod, err)
		}
	}
	get := m.get
	if len(get) == 0 {
		get = m.mods
	}
	t.logf("go get %s", strings.Join(get, " "))
	if err := t.quietly(ctx, "go-get-"+m.name, m.dir, append([]string{"go", "get"}, get...)...); err != nil {
		return Module{}, false, fmt.Errorf("go get %s failed in %s", strings.Join(get, " "), m.dir)
	}
	record := fmt.Sprintf("%s\n%s\n%s\n", m.key(), main.Hash(), main.Dir)
	if err := os.WriteFile(filepath.Join(m.dir, readyFile), []byte(record), 0o644); err != nil {
		return Module{}, false, err
	}
	return main, false, nil
}

// declares reports whether a Go file of dir declares the package-level
// string variable name (var NAME = ..., NAME = ... or NAME string in a var
// block), so that -ldflags -X has something to set.
func declares(dir, name string) bool {
	re := regexp.MustCompile(`(?m)^[ \t]*(var[ \t]+)?` + regexp.QuoteMeta(name) + `([ \t]*=|[ \t]+string\b)`)
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && re.Match(b) {
			return true
		}
	}
	return false
}
