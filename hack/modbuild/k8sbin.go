package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

var (
	nodeBins         = []string{"kubeadm", "kubelet", "kubectl", "crictl"}
	controlPlaneBins = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"}
	allBins          = append(append([]string{}, nodeBins...), controlPlaneBins...)
)

// kubeProbes say how each binary reports its version.
var kubeProbes = map[string]probe{
	"kubeadm":                 {args: []string{"version", "-o", "short"}, parse: firstLine},
	"kubelet":                 {args: []string{"--version"}, parse: after("Kubernetes ")},
	"kubectl":                 {args: []string{"version", "--client"}, parse: after("Client Version: ")},
	"crictl":                  {args: []string{"--version"}, parse: after("crictl version ")},
	"kube-apiserver":          {args: []string{"--version"}, parse: after("Kubernetes ")},
	"kube-controller-manager": {args: []string{"--version"}, parse: after("Kubernetes ")},
	"kube-scheduler":          {args: []string{"--version"}, parse: after("Kubernetes ")},
	"kube-proxy":              {args: []string{"--version"}, parse: after("Kubernetes ")},
}

const criToolsModule = "sigs.k8s.io/cri-tools"

// selectBinaries checks the BINARY arguments and returns them de-duplicated
// in the canonical order; none means the node binaries.
func selectBinaries(args []string) ([]string, error) {
	if len(args) == 0 {
		return nodeBins, nil
	}
	asked := map[string]bool{}
	for _, a := range args {
		if _, ok := kubeProbes[a]; !ok {
			return nil, fmt.Errorf("unknown binary '%s' (choose from: %s)", a, strings.Join(allBins, " "))
		}
		asked[a] = true
	}
	var bins []string
	for _, b := range allBins {
		if asked[b] {
			bins = append(bins, b)
		}
	}
	return bins, nil
}

// kubeLdflags are the ldflags that make Kubernetes binaries report v (else
// `kubeadm version` says v0.0.0-master).
func kubeLdflags(v Version) string {
	flags := "-s -w"
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		flags += fmt.Sprintf(" -X %s.gitVersion=%s -X %s.gitMajor=%s -X %s.gitMinor=%s", pkg, v, pkg, v.Major, pkg, v.GitMinor())
	}
	return flags
}

func runK8sBin(ctx context.Context, t *tool, o options) error {
	bins, err := selectBinaries(o.args)
	if err != nil {
		return err
	}
	return k8sBins(ctx, t, o.version, o.outdir, bins)
}

// criTools is the choice of the cri-tools version crictl is built from.
type criTools struct {
	src      string // its tools module
	version  string // forced, else v1.MINOR.0, else (once chosen) the fallback
	forced   bool   // by KUBEBAKE_CRI_TOOLS_VERSION
	minor    string // v1.MINOR.0
	fallback string // KUBEBAKE_CRI_TOOLS_FALLBACK
	recorded string // the version the tools module was last set up for
}

// kubeBuild is one k8s-bin run.
type kubeBuild struct {
	*tool
	version Version
	src     string // the k8s.io/kubernetes tools module
	outdir  string
	cri     criTools
	have    map[string]string // what each binary reports
	note    map[string]string // how each binary got there
	skipped []string          // staging modules the proxy lacks
}

// k8sBins builds bins for Kubernetes v into outdir (default
// _build/k8s/VERSION/bin) and prints a summary. hack/k8s-images.sh's
// command calls it too.
func k8sBins(ctx context.Context, t *tool, v Version, outdir string, bins []string) error {
	base := filepath.Join(t.root, "_build", "k8s", v.String())
	src := filepath.Join(base, "src")
	if outdir == "" {
		outdir = filepath.Join(base, "bin")
	}
	for _, d := range []string{outdir, src} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	outdir, err := filepath.Abs(outdir)
	if err != nil {
		return err
	}
	// One run at a time per VERSION: they share the tools modules.
	unlock, err := t.lock(ctx, filepath.Join(base, ".lock"), "another k8s-bin run on "+v.String())
	if err != nil {
		return err
	}
	defer unlock()
	t.logDir = filepath.Join(base, "logs")

	criSrc := filepath.Join(src, "cri-tools")
	k := &kubeBuild{
		tool: t, version: v, src: src, outdir: outdir,
		have: map[string]string{}, note: map[string]string{},
		cri: criTools{
			src:      criSrc,
			minor:    "v1." + v.Minor + ".0",
			fallback: envOr("KUBEBAKE_CRI_TOOLS_FALLBACK", "v1.36.0"),
			recorded: recordedVersion(criSrc),
		},
	}
	k.cri.version = k.cri.minor
	if forced := os.Getenv("KUBEBAKE_CRI_TOOLS_VERSION"); forced != "" {
		k.cri.version, k.cri.forced = forced, true
	}

	var todo []string
	for _, b := range bins {
		if !k.cached(ctx, b) {
			todo = append(todo, b)
		}
	}
	for _, b := range todo {
		if err := k.build(ctx, b); err != nil {
			return err
		}
	}
	k.summary(bins)
	return nil
}

// expected is the version binary b must report.
func (k *kubeBuild) expected(b string) string {
	if b == "crictl" {
		return k.cri.version
	}
	return k.version.String()
}

// cached reports whether outdir holds b at the wanted version; a crictl
// built from the fallback an earlier run settled on counts.
func (k *kubeBuild) cached(ctx context.Context, b string) bool {
	p := filepath.Join(k.outdir, b)
	if !executable(p) {
		return false
	}
	t0 := time.Now()
	have := kubeProbes[b].version(ctx, p)
	c := &k.cri
	if b == "crictl" && !c.forced && c.recorded != "" && have != c.version && have == c.recorded {
		c.version = c.recorded
	}
	if have != "" && have == k.expected(b) {
		k.have[b], k.note[b] = have, "cached (version check "+seconds(t0, 2)+"s)"
		return true
	}
	extra := ""
	if b == "crictl" && c.recorded != "" && c.recorded != c.version {
		extra = " (or " + c.recorded + ", the fallback an earlier run chose)"
	}
	k.logf("%s in %s reports '%s', want %s%s: rebuilding", b, k.outdir, orNothing(have), k.expected(b), extra)
	return false
}

// build builds b into outdir.
func (k *kubeBuild) build(ctx context.Context, b string) error {
	gb := goBuild{name: b, probe: kubeProbes[b]}
	if b == "crictl" {
		if err := k.setupCriTools(ctx); err != nil {
			return err
		}
		gb.dir, gb.pkg = k.cri.src, criToolsModule+"/cmd/crictl"
		gb.ldflags = "-s -w -X " + criToolsModule + "/pkg/version.Version=" + k.cri.version
	} else {
		if err := k.setupKubernetes(ctx); err != nil {
			return err
		}
		gb.dir, gb.pkg, gb.ldflags = k.src, "k8s.io/kubernetes/cmd/"+b, kubeLdflags(k.version)
	}
	gb.want = k.expected(b)
	k.logf("building %s (%s@%s)", b, gb.pkg, gb.want)
	t0 := time.Now()
	if b != "crictl" {
		// Pinned: adds whatever this command needs to go.mod and go.sum.
		if err := k.quietly(ctx, "go-get-"+b, k.src, "go", "get", gb.pkg+"@"+k.version.String()); err != nil {
			return fmt.Errorf("cannot resolve %s@%s for %s (module k8s.io/kubernetes@%s, tools module %s)", gb.pkg, k.version, b, k.version, k.src)
		}
	}
	if err := k.tool.build(ctx, gb, filepath.Join(k.outdir, b)); err != nil {
		return err
	}
	k.have[b], k.note[b] = gb.want, "built in "+seconds(t0, 1)+"s"
	return nil
}

// setupKubernetes makes src a tools module for k8s.io/kubernetes@VERSION.
func (k *kubeBuild) setupKubernetes(ctx context.Context) error {
	_, _, err := k.setup(ctx, toolsModule{
		dir:     k.src,
		name:    "kubernetes",
		mods:    []string{"k8s.io/kubernetes@" + k.version.String()},
		prepare: k.kubernetesReplaces,
	})
	if _, ok := isUnavailable(err); err != nil && !ok && len(k.skipped) > 0 {
		return fmt.Errorf("%w (left-out staging modules: %s)", err, strings.Join(k.skipped, " "))
	}
	return err
}

// kubernetesReplaces rewrites kubernetes' `k8s.io/X => ./staging/src/k8s.io/X`
// replaces to `k8s.io/X => k8s.io/X v0.MINOR.PATCH`, leaving out (and
// naming) the staging modules the proxy does not have.
func (k *kubeBuild) kubernetesReplaces(ctx context.Context, main Module) ([]replace, error) {
	reps, err := replacesOf(main)
	if err != nil {
		return nil, err
	}
	staging, verbatim, local := stagingModules(reps)
	for _, r := range local {
		k.logf("ignoring local replace of %s => %s (not a staging module)", r.Old.Path, r.New.Path)
	}
	if len(staging) == 0 {
		return nil, fmt.Errorf("found no staging replaces in %s/go.mod", main.Dir)
	}
	sv := k.version.Staging()
	k.logf("probing %d staging modules at %s", len(staging), sv)
	probe := make([]string, len(staging))
	for i, m := range staging {
		probe[i] = m + "@" + sv
	}
	mods, err := k.download(ctx, k.src, probe...)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, m := range mods {
		if m.Error == "" {
			have[m.Path] = true
		} else {
			k.logf("skipping %s@%s: %s", m.Path, sv, m.Problem())
		}
	}
	out, skipped := stagingReplaces(staging, sv, have)
	if len(skipped) > 0 {
		k.skipped = skipped
		k.logf("left out (not on the proxy at %s): %s", sv, strings.Join(skipped, " "))
	}
	return append(out, verbatim...), nil
}

// setupCriTools makes src/cri-tools a tools module for cri-tools; when
// v1.MINOR.0 is not on the proxy (and no version is forced) it falls back.
func (k *kubeBuild) setupCriTools(ctx context.Context) error {
	c := &k.cri
	module := func(v string) toolsModule {
		return toolsModule{
			dir:  c.src,
			name: "cri-tools",
			mods: []string{criToolsModule + "@" + v},
			get:  []string{criToolsModule + "@" + v, criToolsModule + "/cmd/crictl@" + v},
			prepare: func(_ context.Context, m Module) ([]replace, error) {
				// The version variable cri-tools' Makefile sets.
				if dir := filepath.Join(m.Dir, "pkg", "version"); !declares(dir, "Version") {
					return nil, fmt.Errorf("%s@%s has no pkg/version.Version variable to stamp (looked in %s)", m.Path, m.Version, dir)
				}
				return nil, nil
			},
		}
	}
	_, _, err := k.setup(ctx, module(c.version))
	ue, ok := isUnavailable(err)
	if !ok {
		return err
	}
	if c.forced || c.version == c.fallback {
		return fmt.Errorf("module %s (for crictl) is not available from %s: %s", ue.mod, ue.proxy, ue.why)
	}
	k.logf("%s is not on the proxy (%s)", ue.mod, ue.why)
	k.logf("falling back to %s@%s for crictl (CRI v1; set KUBEBAKE_CRI_TOOLS_VERSION to choose another)", criToolsModule, c.fallback)
	c.version = c.fallback
	_, _, err = k.setup(ctx, module(c.version))
	if ue, ok := isUnavailable(err); ok {
		return fmt.Errorf("fallback module %s (for crictl) is not available either: %s", ue.mod, ue.why)
	}
	return err
}

// summary prints one line per binary: version, size, how it got there.
func (k *kubeBuild) summary(bins []string) {
	fmt.Fprintf(k.stdout, "Kubernetes %s binaries in %s:\n", k.version, k.outdir)
	width := 0
	for _, b := range bins {
		width = max(width, len(b))
	}
	for _, b := range bins {
		note := k.note[b]
		if b == "crictl" && !k.cri.forced && k.cri.version != k.cri.minor {
			note += " (cri-tools " + k.cri.minor + " is not on the proxy)"
		}
		fmt.Fprintf(k.stdout, "  %-*s %-9s %6.1f MiB  %s\n", width, b, k.have[b], mib(filepath.Join(k.outdir, b)), note)
	}
}

// envOr is $name, or def when it is unset or empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
