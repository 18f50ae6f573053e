package render_test

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/recipes"
	"github.com/kubebake/kubebake/recipes/render"
)

// ---------------------------------------------------------------------------
// systemd.

// consumerUnitDirs are where unit files and their drop-in directories live.
var consumerUnitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}

var consumerUnitSuffixes = []string{".service", ".socket", ".timer", ".path", ".mount", ".automount", ".swap", ".target", ".slice"}

// consumerUnitKind says whether p is a unit file or a unit drop-in, and which
// unit it belongs to.
func consumerUnitKind(p string) (unit string, dropIn bool, ok bool) {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	for _, ud := range consumerUnitDirs {
		if dir == ud {
			for _, s := range consumerUnitSuffixes {
				if strings.HasSuffix(base, s) {
					return base, false, true
				}
			}
			return "", false, false
		}
		if path.Dir(dir) == ud && strings.HasSuffix(dir, ".d") && strings.HasSuffix(base, ".conf") {
			return strings.TrimSuffix(path.Base(dir), ".d"), true, true
		}
	}
	return "", false, false
}

// consumerHostUnitDir is where the host keeps systemd's own targets and
// slices, which every unit depends on.
func consumerHostUnitDir() string {
	for _, d := range []string{"/usr/lib/systemd/system", "/lib/systemd/system"} {
		if _, err := os.Stat(filepath.Join(d, "sysinit.target")); err == nil {
			return d
		}
	}
	return ""
}

// consumerSystemdRoot makes a root holding systemd's own targets and slices
// from the host and nothing else.
func consumerSystemdRoot(t *testing.T) string {
	t.Helper()
	hostDir := consumerHostUnitDir()
	if hostDir == "" {
		msg := "the host has no systemd unit directory with sysinit.target: run hack/validators.sh"
		if os.Getenv(consumerRequireEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	root := t.TempDir()
	dst := filepath.Join(root, "usr", "lib", "systemd", "system")
	require.NoError(t, os.MkdirAll(dst, 0o755))
	entries, err := os.ReadDir(hostDir)
	require.NoError(t, err)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".target") && !strings.HasSuffix(e.Name(), ".slice") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(hostDir, e.Name()))
		if err != nil || e.IsDir() {
			continue // a dangling link or a .wants directory
		}
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644))
	}
	return root
}

func consumerPut(t *testing.T, root, p string, content []byte, mode fs.FileMode) {
	t.Helper()
	dst := filepath.Join(root, filepath.FromSlash(p))
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	require.NoError(t, os.WriteFile(dst, content, mode))
	require.NoError(t, os.Chmod(dst, mode))
}

// consumerVerify runs systemd-analyze verify on one unit in root and
// returns its findings about that unit, its drop-ins and what it pulls in.
// Every line of output is a finding, since systemd reports unknown keys and
// bad values as warnings and still exits 0. Lines about the units in others
// are left out, because those are verified on their own; a failing exit
// status that only such lines explain is theirs too.
func consumerVerify(bin, root, unit string, others map[string]bool) ([]string, error) {
	stdout, stderr, err := consumerRun(bin, "verify", "--root="+root, "--man=no", "--generators=no", unit)
	var findings []string
	theirs := 0
	for _, line := range strings.Split(stdout+"\n"+stderr, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if owner := consumerFindingOwner(root, line); owner != unit && others[owner] {
			theirs++
			continue
		}
		findings = append(findings, line)
	}
	if len(findings) > 0 {
		return findings, fmt.Errorf("systemd-analyze verify %s reports findings (exit: %v)", unit, err)
	}
	if err != nil && theirs == 0 {
		return nil, fmt.Errorf("systemd-analyze verify %s: %w", unit, err)
	}
	return nil, nil
}

// consumerFindingOwner names the unit a line of systemd-analyze's output is
// about: "ROOT/PATH:LINE: ..." is about the unit at PATH (or the unit of the
// drop-in at PATH), "UNIT: ..." about UNIT.
func consumerFindingOwner(root, line string) string {
	if rest, ok := strings.CutPrefix(line, root); ok {
		p, _, _ := strings.Cut(rest, ":")
		if unit, _, ok := consumerUnitKind(p); ok {
			return unit
		}
		return ""
	}
	if name, _, ok := strings.Cut(line, ": "); ok && !strings.ContainsAny(name, " /") {
		return name
	}
	return ""
}

var consumerExecRE = regexp.MustCompile(`(?m)^\s*Exec(?:Start|StartPre|StartPost|Reload|Stop|StopPost|Condition)\s*=\s*(.*)$`)

// consumerExecPaths lists the absolute executables a unit's Exec lines run.
func consumerExecPaths(unit []byte) []string {
	var out []string
	for _, m := range consumerExecRE.FindAllStringSubmatch(string(unit), -1) {
		cmd := strings.TrimLeft(strings.TrimSpace(m[1]), "@-:+!|")
		fields := strings.Fields(cmd)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], "/") {
			continue
		}
		out = append(out, fields[0])
	}
	return out
}

// consumerInstalls reports whether a step script installs exe: a line that
// runs install(1) with exe as its destination.
func consumerInstalls(steps []render.Step, exe string) bool {
	for _, s := range steps {
		for _, line := range strings.Split(string(s.Body), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 2 || fields[0] != "install" {
				continue
			}
			if strings.Trim(fields[len(fields)-1], `'"`) == exe {
				return true
			}
		}
	}
	return false
}

func checkConsumerSystemd(t *testing.T, cp *consumerPlan) {
	type placed struct {
		content []byte
		mode    fs.FileMode
	}
	// Every file the image gets: plan files, and on Fedora CoreOS whatever
	// Ignition places besides (the steps and the bake script).
	image := map[string]placed{}
	for _, f := range cp.plan.Files {
		mode, err := strconv.ParseUint(f.Mode, 8, 32)
		require.NoError(t, err)
		image[f.Path] = placed{f.Content, fs.FileMode(mode) & fs.ModePerm}
	}
	units := map[string][]byte{} // unit name -> content, for units the image gets
	dropIns := map[string]bool{} // unit names that get drop-ins
	var order []string           // units to verify
	add := func(name string) {
		for _, o := range order {
			if o == name {
				return
			}
		}
		order = append(order, name)
	}
	if cp.plan.Family == recipes.FamilyFCOS {
		ign := cp.ignition(t)
		for p, f := range ign.files {
			if _, ok := image[p]; !ok {
				image[p] = placed{f.content, fs.FileMode(f.mode) & fs.ModePerm}
			}
		}
		for name, contents := range ign.units {
			image["/etc/systemd/system/"+name] = placed{[]byte(contents), 0o644}
		}
	}
	var unitPaths []string
	for p := range image {
		if _, _, ok := consumerUnitKind(p); ok {
			unitPaths = append(unitPaths, p)
		}
	}
	if len(unitPaths) == 0 {
		t.Skip("the plan places no systemd unit")
	}
	sort.Strings(unitPaths)
	bin := consumerBinary(t, "systemd-analyze")
	root := consumerSystemdRoot(t)
	var unitTexts [][]byte
	for _, p := range unitPaths {
		name, dropIn, _ := consumerUnitKind(p)
		consumerPut(t, root, p, image[p].content, image[p].mode)
		unitTexts = append(unitTexts, image[p].content)
		if dropIn {
			dropIns[name] = true
		} else {
			units[name] = image[p].content
		}
		add(name)
	}
	// Units the plan relies on but that come from packages the steps
	// install: the runtime's services and, from packages, kubelet's. They
	// get stand-ins; any other missing unit is a finding.
	packaged := append([]string{}, cp.plan.Runtime.Services...)
	if cp.plan.Kubernetes.Source == recipes.SourcePackages {
		packaged = append(packaged, "kubelet.service")
	}
	stubbed := map[string]bool{}
	for _, name := range packaged {
		if _, ok := units[name]; ok {
			continue
		}
		stubbed[name] = true
		consumerPut(t, root, "/usr/lib/systemd/system/"+name,
			[]byte("[Unit]\nDescription=stand-in for the packaged "+name+"\n\n[Service]\nExecStart=/usr/bin/true\n"), 0o644)
		consumerPut(t, root, "/usr/bin/true", []byte("#!/bin/sh\nexit 0\n"), 0o755)
	}
	for name := range dropIns {
		if _, ok := units[name]; !ok && !stubbed[name] {
			t.Errorf("the plan places drop-ins for %s, which neither the plan nor a package it installs provides", name)
		}
	}
	// Executables: a stand-in for each one the image gets (placed by the
	// plan or by Ignition, installed by a step, or part of the base system
	// as the host has it). A unit running anything else is a finding.
	for _, text := range unitTexts {
		for _, exe := range consumerExecPaths(text) {
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(exe))); err == nil {
				continue
			}
			if f, ok := image[exe]; ok {
				// The image's own file, with its own mode: a plan file
				// that is not executable is a finding.
				consumerPut(t, root, exe, f.content, f.mode)
				continue
			}
			hostHas := false
			if fi, err := os.Stat(exe); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				hostHas = true
			}
			if hostHas || consumerInstalls(cp.plan.Steps, exe) {
				consumerPut(t, root, exe, []byte("#!/bin/sh\nexit 0\n"), 0o755)
			}
		}
	}
	others := map[string]bool{}
	for _, name := range order {
		others[name] = true
	}
	for _, name := range order {
		t.Run(name, func(t *testing.T) {
			findings, err := consumerVerify(bin, root, name, others)
			assert.NoError(t, err, "systemd-analyze verify rejects %s:\n%s", name, strings.Join(findings, "\n"))
		})
	}
}
