package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const criDockerdModule = "github.com/Mirantis/cri-dockerd"

// criDockerdStamp is what cri-dockerd's Makefile stamps for version v:
// VERSION is the tag without its "v", PRERELEASE is "pre" for dev versions,
// and --version prints "cri-dockerd VERSION[-PRERELEASE] (REVISION)", so
// the binary must report want.
func criDockerdStamp(v string) (version, prerelease, want string) {
	version = strings.TrimPrefix(v, "v")
	want = version
	if strings.Contains(version, "dev") {
		prerelease = "pre"
		want += "-pre"
	}
	return version, prerelease, want
}

// criDockerdVersion is the version in cri-dockerd's --version line:
// "cri-dockerd 0.4.3 (d969e29)" -> "0.4.3".
func criDockerdVersion(out string) string {
	rest, ok := strings.CutPrefix(firstLine(out), "cri-dockerd ")
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, " ")
	return v
}

// criDockerdLine asks for cri-dockerd's --version line, criDockerdProbe
// for its version.
var (
	criDockerdLine  = probe{args: []string{"--version"}, parse: firstLine}
	criDockerdProbe = probe{args: []string{"--version"}, parse: criDockerdVersion}
)

// buildTime is the BuildTime cri-dockerd's Makefile would stamp, from
// SOURCE_DATE_EPOCH (default 0) rather than the clock.
func buildTime(epoch string) (string, error) {
	return sourceDate(epoch, "20060102.150405")
}

func runCriDockerd(ctx context.Context, t *tool, o options) error {
	version := o.version.String()
	stampVersion, prerelease, want := criDockerdStamp(version)
	tools, outdir, unlock, err := t.buildDirs(ctx, "cri-dockerd", version, o.outdir)
	if err != nil {
		return err
	}
	defer unlock()
	out := filepath.Join(outdir, "cri-dockerd")

	if executable(out) {
		t0 := time.Now()
		line := criDockerdLine.version(ctx, out)
		if have := criDockerdVersion(line); have == want {
			fmt.Fprintf(t.stdout, "%s, %.1f MiB, cached (version check %ss): %s\n", line, mib(out), seconds(t0, 2), out)
			return nil
		}
		t.logf("%s reports '%s', want %s: rebuilding", out, orNothing(criDockerdVersion(line)), want)
	}

	t0 := time.Now()
	mod := criDockerdModule + "@" + version
	main, cached, err := t.setup(ctx, toolsModule{
		dir:  tools,
		name: "cri-dockerd",
		mods: []string{mod},
		prepare: func(_ context.Context, m Module) ([]replace, error) {
			// Go ignores a dependency's replaces: without them the build
			// list differs from upstream's.
			reps, err := replacesOf(m)
			if err == nil {
				reps, err = copyReplaces(mod, reps)
			}
			if err == nil {
				t.logf("copied %d replace directives from %s's go.mod", len(reps), mod)
			}
			return reps, err
		},
	})
	if err != nil {
		return err
	}
	if !cached {
		t.logf("tools module ready in %ss", seconds(t0, 1))
	}

	// The variables the Makefile sets must exist, or -X silently does nothing.
	vpkg := criDockerdModule + "/cmd/version"
	vdir := filepath.Join(main.Dir, "cmd", "version")
	for _, v := range []string{"Version", "PreRelease", "GitCommit"} {
		if !declares(vdir, v) {
			return fmt.Errorf("%s has no cmd/version.%s variable to stamp (looked in %s)", mod, v, vdir)
		}
	}
	// Makefile: REVISION=$(git log -1 --pretty='%h'), the short commit.
	revision := shortHash(main.Hash())
	if revision == "" {
		revision = version
		t.logf("the proxy names no commit for %s: stamping GitCommit=%s", mod, revision)
	}
	ldflags := fmt.Sprintf("-s -w -buildid=%s -X %s.Version=%s -X %s.PreRelease=%s -X %s.GitCommit=%s",
		revision, vpkg, stampVersion, vpkg, prerelease, vpkg, revision)
	if declares(vdir, "BuildTime") {
		bt, err := buildTime(os.Getenv("SOURCE_DATE_EPOCH"))
		if err != nil {
			return err
		}
		ldflags += " -X " + vpkg + ".BuildTime=" + bt
	}

	t.logf("building cri-dockerd (%s, commit %s)", mod, revision)
	t0 = time.Now()
	b := goBuild{name: "cri-dockerd", dir: tools, pkg: criDockerdModule, ldflags: ldflags, want: want, probe: criDockerdProbe}
	if err := t.build(ctx, b, out); err != nil {
		return err
	}
	line := criDockerdLine.version(ctx, out)
	if w := fmt.Sprintf("cri-dockerd %s (%s)", want, revision); line != w {
		t.logf("note: --version says '%s', expected '%s'", line, w)
	}
	fmt.Fprintf(t.stdout, "%s, %.1f MiB, built in %ss: %s\n", line, mib(out), seconds(t0, 1), out)
	return nil
}

// shortHash is the 7-character form of a commit hash, as git shows it.
func shortHash(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}
