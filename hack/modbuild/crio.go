package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

const crioModule = "github.com/cri-o/cri-o"

// crioTags are the build tags of CRI-O's static release build
// (nix/derivation.nix: static netgo osusergo exclude_graphdriver_btrfs
// seccomp apparmor selinux), with containers_image_openpgp, which the
// Makefile uses where gpgme is not linked: signature checks in pure Go
// instead of a static libgpgme, which Debian does not ship.
const crioTags = "static netgo osusergo exclude_graphdriver_btrfs seccomp apparmor selinux containers_image_openpgp"

// crioVersion is the version in crio's --version output: its first line
// is "crio version 1.36.2".
func crioVersion(out string) string {
	v, _ := strings.CutPrefix(firstLine(out), "crio version ")
	if v == firstLine(out) {
		return ""
	}
	return strings.TrimSpace(v)
}

var crioProbe = probe{args: []string{"--version"}, parse: crioVersion}

// buildDate is the BUILD_DATE CRI-O's Makefile stamps, from
// SOURCE_DATE_EPOCH (default 0) rather than the clock.
func buildDate(epoch string) (string, error) {
	return sourceDate(epoch, "2006-01-02T15:04:05Z")
}

// releaseReplaces replaces every k8s.io requirement of go.mod data that
// names a pre-release (v0.36.0-rc.0) by the release it became (v0.36.0).
// CRI-O v1.36.2 requires the v0.36.0-rc.0 staging modules, which the
// proxy does not serve; later patch releases do not fit either (here,
// cri-api v0.36.3's KeyValue.Value is []byte, v1.36.2 wants a string).
// Pseudo-versions (k8s.io/utils) are commits, not pre-releases, and stay.
func releaseReplaces(file string, data []byte) ([]replace, error) {
	f, err := modfile.Parse(file, data, nil)
	if err != nil {
		return nil, err
	}
	var reps []replace
	for _, r := range f.Require {
		v := r.Mod.Version
		pre := semver.Prerelease(v)
		if !strings.HasPrefix(r.Mod.Path, "k8s.io/") || pre == "" || module.IsPseudoVersion(v) {
			continue
		}
		release := strings.TrimSuffix(semver.Canonical(v), pre)
		reps = append(reps, replace{Old: module.Version{Path: r.Mod.Path}, New: module.Version{Path: r.Mod.Path, Version: release}})
	}
	sort.Slice(reps, func(i, j int) bool { return reps[i].Old.Path < reps[j].Old.Path })
	return reps, nil
}

// crioStamp is what OUTDIR/.kubebake-crio records of a finished build,
// so that a run with the same module finds pinns current too (pinns
// reports no version).
func crioStamp(mod, revision string) string { return mod + " " + revision + "\n" }

func runCrio(ctx context.Context, t *tool, o options) error {
	version := o.version.String()
	want := strings.TrimPrefix(version, "v")
	tools, outdir, unlock, err := t.buildDirs(ctx, "cri-o", version, o.outdir)
	if err != nil {
		return err
	}
	defer unlock()
	crio, pinns := filepath.Join(outdir, "crio"), filepath.Join(outdir, "pinns")
	stampFile := filepath.Join(outdir, ".kubebake-crio")

	mod := crioModule + "@" + version
	if executable(crio) && executable(pinns) {
		t0 := time.Now()
		stamp, _ := os.ReadFile(stampFile)
		if have := crioProbe.version(ctx, crio); have == want && strings.HasPrefix(string(stamp), mod+" ") {
			fmt.Fprintf(t.stdout, "crio %s and pinns, %.1f MiB, cached (version check %ss): %s\n", have, mib(crio)+mib(pinns), seconds(t0, 2), outdir)
			return nil
		}
		t.logf("%s is not a finished build of %s: rebuilding", outdir, mod)
	}

	t0 := time.Now()
	main, cached, err := t.setup(ctx, toolsModule{
		dir:  tools,
		name: "cri-o",
		mods: []string{mod},
		get:  []string{crioModule + "/cmd/crio@" + version},
		prepare: func(_ context.Context, m Module) ([]replace, error) {
			own, err := replacesOf(m)
			if err == nil {
				own, err = copyReplaces(mod, own)
			}
			if err != nil {
				return nil, err
			}
			file := filepath.Join(m.Dir, "go.mod")
			data, err := os.ReadFile(file)
			if err != nil {
				return nil, err
			}
			rel, err := releaseReplaces(file, data)
			if err != nil {
				return nil, err
			}
			for _, r := range rel {
				t.logf("replacing %s", r)
			}
			return append(own, rel...), nil
		},
	})
	if err != nil {
		return err
	}
	if !cached {
		t.logf("tools module ready in %ss", seconds(t0, 1))
	}
	vdir := filepath.Join(main.Dir, "internal", "version")
	for _, v := range []string{"buildDate", "buildCommit"} {
		if !declares(vdir, v) {
			return fmt.Errorf("%s has no internal/version.%s variable to stamp (looked in %s)", mod, v, vdir)
		}
	}
	date, err := buildDate(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	revision := main.Hash()
	if revision == "" {
		revision = version
		t.logf("the proxy names no commit for %s: stamping buildCommit=%s", mod, revision)
	}
	// The Makefile's BASE_LDFLAGS, and the static link of its nix build.
	vpkg := crioModule + "/internal/version"
	ldflags := fmt.Sprintf(`-s -w -X %s.buildDate=%s -X %s.buildCommit=%s -linkmode external -extldflags "-static -lm"`,
		vpkg, date, vpkg, revision)

	_ = os.Remove(stampFile)
	t.logf("building crio (%s, commit %s, tags %s)", mod, shortHash(revision), crioTags)
	t0 = time.Now()
	b := goBuild{name: "crio", dir: tools, pkg: crioModule + "/cmd/crio", ldflags: ldflags, tags: crioTags, cgo: true, want: want, probe: crioProbe}
	if err := t.build(ctx, b, crio); err != nil {
		return fmt.Errorf("%w (crio links libseccomp, libapparmor and libselinux statically: hack/deps.sh installs them)", err)
	}
	crioTime := seconds(t0, 1)
	t0 = time.Now()
	if err := t.pinns(ctx, filepath.Join(main.Dir, "pinns", "src"), pinns); err != nil {
		return err
	}
	if err := os.WriteFile(stampFile, []byte(crioStamp(mod, revision)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(t.stdout, "crio %s (%s) %.1f MiB built in %ss, pinns %.1f MiB in %ss: %s\n",
		want, shortHash(revision), mib(crio), crioTime, mib(pinns), seconds(t0, 1), outdir)
	return nil
}

// pinnsFlags are pinns/Makefile's CFLAGS: a static binary.
var pinnsFlags = []string{"-std=c99", "-Os", "-Wall", "-Werror", "-Wextra", "-static"}

// pinns builds pinns from its C sources in src as pinns/Makefile does
// (each file compiled with CFLAGS -O3, linked with CFLAGS, stripped) into
// out, by way of a temporary directory: the module cache is read-only.
func (t *tool) pinns(ctx context.Context, src, out string) error {
	files, err := filepath.Glob(filepath.Join(src, "*.c"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no pinns sources in %s", src)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".pinns.")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	var objs []string
	for _, f := range files {
		obj := filepath.Join(tmp, strings.TrimSuffix(filepath.Base(f), ".c")+".o")
		args := append(append([]string{"cc"}, pinnsFlags...), "-O3", "-o", obj, "-c", f)
		if err := t.quietly(ctx, "pinns-cc", src, args...); err != nil {
			return fmt.Errorf("compiling %s failed (gcc and libc6-dev are needed)", f)
		}
		objs = append(objs, obj)
	}
	bin := filepath.Join(tmp, "pinns")
	args := append(append([]string{"cc", "-o", bin}, objs...), pinnsFlags...)
	if err := t.quietly(ctx, "pinns-ld", src, args...); err != nil {
		return fmt.Errorf("linking pinns failed")
	}
	if err := t.quietly(ctx, "pinns-strip", src, "strip", "-s", bin); err != nil {
		return fmt.Errorf("strip of pinns failed")
	}
	return os.Rename(bin, out)
}
