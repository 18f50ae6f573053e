package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// imageProbes say how the binaries of the non-kube images report their
// versions.
var imageProbes = map[string]probe{
	"etcd":    {args: []string{"--version"}, parse: after("etcd Version: ")},
	"etcdctl": {args: []string{"version"}, parse: after("etcdctl version: ")},
	"coredns": {args: []string{"-version"}, parse: after("CoreDNS-")},
	"pause":   {args: []string{"-v"}, parse: lastWord},
}

// imageTags are the tags of the images kubeadm lists that are not kube-*.
type imageTags struct {
	etcd, coredns, pause string
}

// parseImageList checks kubeadm's image list for Kubernetes version and
// returns the tags of etcd, coredns and pause.
func parseImageList(refs []string, version string) (imageTags, error) {
	var tags imageTags
	for _, ref := range refs {
		i := strings.LastIndex(ref, ":")
		if i < 0 {
			return imageTags{}, fmt.Errorf("kubeadm listed '%s', which has no tag", ref)
		}
		repo, tag := ref[:i], ref[i+1:]
		switch repo[strings.LastIndex(repo, "/")+1:] {
		case "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy":
			if tag != version {
				return imageTags{}, fmt.Errorf("kubeadm lists %s, expected tag %s", ref, version)
			}
		case "etcd":
			tags.etcd = tag
		case "coredns":
			tags.coredns = tag
		case "pause":
			tags.pause = tag
		default:
			return imageTags{}, fmt.Errorf("kubeadm lists %s, which this script cannot build", ref)
		}
	}
	if tags.etcd == "" || tags.coredns == "" || tags.pause == "" {
		return imageTags{}, fmt.Errorf("kubeadm's image list lacks etcd, coredns or pause: %s", strings.Join(refs, " "))
	}
	return tags, nil
}

// etcdVersion is the etcd module version for etcd image tag: 3.6.8-0 is
// etcd v3.6.8 (the -N counts image rebuilds); override wins.
func etcdVersion(tag, override string) string {
	if override != "" {
		return withV(override)
	}
	if i := strings.LastIndex(tag, "-"); i >= 0 {
		tag = tag[:i]
	}
	return withV(tag)
}

// kubeadmImages runs `kubeadm config images list` for version.
func kubeadmImages(ctx context.Context, kubeadm, version string) ([]string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, kubeadm, "config", "images", "list", "--kubernetes-version", version)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run() // judged by what it prints
	var refs []string
	for _, l := range strings.Split(stdout.String(), "\n") {
		if l != "" {
			refs = append(refs, l)
		}
	}
	if len(refs) == 0 {
		why := strings.Join(lastLines(stdout.String()+stderr.String(), 3), "\n")
		return nil, fmt.Errorf("'kubeadm config images list --kubernetes-version %s' printed nothing: %s", version, why)
	}
	return refs, nil
}

// moduleHint is added to errors about modules the proxy does not have.
const moduleHint = " (set the version with the KUBEBAKE_*_VERSION variables, see -h)"

// imagesRun is one k8s-images run: where binaries and tools modules go,
// and how each binary got there.
type imagesRun struct {
	*tool
	tools  string // _build/k8s-images/tools
	bindir string // _build/k8s-images/bin
	note   map[string]string
}

func runK8sImages(ctx context.Context, t *tool, o options) error {
	version := o.version.String()
	base := filepath.Join(t.root, "_build", "k8s-images")
	r := &imagesRun{tool: t, tools: filepath.Join(base, "tools"), bindir: filepath.Join(base, "bin"), note: map[string]string{}}
	outdir := o.outdir
	if outdir == "" {
		outdir = filepath.Join(base, version)
	}
	for _, d := range []string{outdir, r.tools, r.bindir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	outdir, err := filepath.Abs(outdir)
	if err != nil {
		return err
	}
	// One run at a time: runs share the tools modules and binaries.
	unlock, err := t.lock(ctx, filepath.Join(base, ".lock"), "another k8s-images run")
	if err != nil {
		return err
	}
	defer unlock()
	t.logDir = filepath.Join(base, "logs")

	// kubeadm and kube-*: k8s-bin's, with its summary on stderr (stdout is
	// this command's summary).
	t0 := time.Now()
	kube := &tool{name: "k8s-bin", root: t.root, stdout: t.stderr, stderr: t.stderr}
	if err := k8sBins(ctx, kube, o.version, "", append([]string{"kubeadm"}, controlPlaneBins...)); err != nil {
		fmt.Fprintf(t.stderr, "k8s-bin: error: %v\n", err)
		return fmt.Errorf("hack/k8s-bin.sh -v %s failed (see above)", version)
	}
	t.logf("kube-* binaries ready in %ss", seconds(t0, 1))
	kbin := filepath.Join(t.root, "_build", "k8s", version, "bin")

	refs, err := kubeadmImages(ctx, filepath.Join(kbin, "kubeadm"), version)
	if err != nil {
		return err
	}
	tags, err := parseImageList(refs, version)
	if err != nil {
		return err
	}
	etcdV := etcdVersion(tags.etcd, os.Getenv("KUBEBAKE_ETCD_VERSION"))
	corednsV := withV(envOr("KUBEBAKE_COREDNS_VERSION", tags.coredns))

	bins := map[string]string{} // NAME -> binary, for -bin
	for _, b := range controlPlaneBins {
		bins[b] = filepath.Join(kbin, b)
	}
	if err := r.etcd(ctx, etcdV, bins); err != nil {
		return err
	}
	if err := r.coredns(ctx, corednsV, bins); err != nil {
		return err
	}
	if err := r.pause(ctx, tags.pause, bins); err != nil {
		return err
	}
	proxyTree, ipt, err := t.kubeProxyTree(ctx, base)
	if err != nil {
		return err
	}

	// The image writer, hack/k8simages.
	k8simages := filepath.Join(r.bindir, "k8simages")
	if err := t.run(ctx, t.root, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-o", k8simages+".new", "./hack/k8simages"); err != nil {
		return fmt.Errorf("go build ./hack/k8simages failed")
	}
	if err := os.Rename(k8simages+".new", k8simages); err != nil {
		return err
	}

	fmt.Fprintf(t.stdout, "Binaries for Kubernetes %s images:\n", version)
	for _, n := range []string{"etcd", "etcdctl", "coredns", "pause"} {
		fmt.Fprintf(t.stdout, "  %-8s %-8s %6.1f MiB  %s\n", n, imageProbes[n].version(ctx, bins[n]), mib(bins[n]), r.note[n])
	}
	fmt.Fprintf(t.stdout, "  iptables (kube-proxy) %s\n", ipt)
	if etcdV != etcdVersion(tags.etcd, "") {
		fmt.Fprintf(t.stdout, "  note: etcd image %s carries etcd %s (KUBEBAKE_ETCD_VERSION)\n", tags.etcd, etcdV)
	}
	if corednsV != tags.coredns {
		fmt.Fprintf(t.stdout, "  note: coredns image %s carries coredns %s (KUBEBAKE_COREDNS_VERSION)\n", tags.coredns, corednsV)
	}

	fmt.Fprintf(t.stdout, "Kubernetes %s images in %s:\n", version, outdir)
	t0 = time.Now()
	args := []string{"-out", outdir, "-kubernetes-version", version}
	for _, n := range append(append([]string{}, controlPlaneBins...), "etcd", "etcdctl", "coredns", "pause") {
		args = append(args, "-bin", n+"="+bins[n])
	}
	args = append(args, "-tree", "kube-proxy="+proxyTree)
	cmd := exec.CommandContext(ctx, k8simages, append(args, refs...)...)
	cmd.Stdout, cmd.Stderr = t.stdout, t.stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("writing the images failed (see above)")
	}
	t.logf("images ready in %ss", seconds(t0, 1))
	return nil
}

// buildIfStale builds b into out unless out reports b.want already.
func (r *imagesRun) buildIfStale(ctx context.Context, b goBuild, out string) error {
	if executable(out) && b.probe.version(ctx, out) == b.want {
		r.note[b.name] = "cached"
		return nil
	}
	r.logf("building %s (%s, %s)", b.name, b.pkg, b.want)
	t0 := time.Now()
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := r.build(ctx, b, out); err != nil {
		return err
	}
	r.note[b.name] = "built in " + seconds(t0, 1) + "s"
	return nil
}

// current reports whether the binaries names in dir report version.
func current(ctx context.Context, dir, version string, names ...string) bool {
	for _, n := range names {
		if imageProbes[n].version(ctx, filepath.Join(dir, n)) != version {
			return false
		}
	}
	return true
}

// setup is tool.setup with a hint for modules the proxy lacks.
func (r *imagesRun) setup(ctx context.Context, m toolsModule) (Module, error) {
	main, _, err := r.tool.setup(ctx, m)
	if _, ok := isUnavailable(err); ok {
		return Module{}, fmt.Errorf("%w%s", err, moduleHint)
	}
	return main, err
}

// etcd builds etcd and etcdctl at version from go.etcd.io/etcd/{server,etcdctl}/v3
// into bin/etcd-VERSION, unless both are there.
func (r *imagesRun) etcd(ctx context.Context, version string, bins map[string]string) error {
	out := filepath.Join(r.bindir, "etcd-"+version)
	bins["etcd"], bins["etcdctl"] = filepath.Join(out, "etcd"), filepath.Join(out, "etcdctl")
	want := strings.TrimPrefix(version, "v")
	if current(ctx, out, want, "etcd", "etcdctl") {
		r.note["etcd"], r.note["etcdctl"] = "cached", "cached"
		return nil
	}
	t0 := time.Now()
	pkgs := map[string]string{"etcd": "go.etcd.io/etcd/server/v3", "etcdctl": "go.etcd.io/etcd/etcdctl/v3"}
	dir := filepath.Join(r.tools, "etcd-"+version)
	main, err := r.setup(ctx, toolsModule{dir: dir, name: "etcd", mods: []string{pkgs["etcd"] + "@" + version, pkgs["etcdctl"] + "@" + version}})
	if err != nil {
		return err
	}
	// etcd's scripts/build_lib.sh: GIT_SHA=$(git rev-parse --short HEAD || echo "GitNotFound").
	sha := shortHash(main.Hash())
	if sha == "" {
		sha = "GitNotFound"
	}
	for _, n := range []string{"etcd", "etcdctl"} {
		b := goBuild{name: n, dir: dir, pkg: pkgs[n], want: want, probe: imageProbes[n],
			ldflags: "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=" + sha}
		if err := r.buildIfStale(ctx, b, bins[n]); err != nil {
			return err
		}
	}
	r.logf("etcd binaries ready in %ss", seconds(t0, 1))
	return nil
}

// coredns builds coredns at version from github.com/coredns/coredns into
// bin/coredns-VERSION, unless it is there.
func (r *imagesRun) coredns(ctx context.Context, version string, bins map[string]string) error {
	out := filepath.Join(r.bindir, "coredns-"+version)
	bins["coredns"] = filepath.Join(out, "coredns")
	want := strings.TrimPrefix(version, "v")
	if current(ctx, out, want, "coredns") {
		r.note["coredns"] = "cached"
		return nil
	}
	t0 := time.Now()
	dir := filepath.Join(r.tools, "coredns-"+version)
	main, err := r.setup(ctx, toolsModule{dir: dir, name: "coredns", mods: []string{"github.com/coredns/coredns@" + version}})
	if err != nil {
		return err
	}
	// CoreDNS' Makefile: -X coremain.GitCommit=$(git describe --dirty --always), -tags grpcnotrace.
	commit := shortHash(main.Hash())
	if commit == "" {
		commit = version
	}
	b := goBuild{name: "coredns", dir: dir, pkg: "github.com/coredns/coredns", tags: "grpcnotrace", want: want, probe: imageProbes["coredns"],
		ldflags: "-s -w -X github.com/coredns/coredns/coremain.GitCommit=" + commit}
	if err := r.buildIfStale(ctx, b, bins["coredns"]); err != nil {
		return err
	}
	r.logf("coredns ready in %ss", seconds(t0, 1))
	return nil
}

// pause builds our own pause (hack/k8simages/pause, from this module) as
// bin/pause-TAG/pause. go build's cache makes a rebuild cost seconds, and
// the binary is only replaced (and its image rebuilt) when it changed.
func (r *imagesRun) pause(ctx context.Context, tag string, bins map[string]string) error {
	out := filepath.Join(r.bindir, "pause-"+tag, "pause")
	bins["pause"] = out
	t0 := time.Now()
	b := goBuild{name: "pause", dir: r.root, pkg: "./hack/k8simages/pause", want: tag, probe: imageProbes["pause"],
		ldflags: "-s -w -X main.version=" + tag}
	if err := r.buildIfStale(ctx, b, out+".new"); err != nil {
		return err
	}
	if executable(out) && sameFile(out, out+".new") {
		_ = os.Remove(out + ".new")
		r.note["pause"] = "unchanged (" + seconds(t0, 1) + "s)"
		return nil
	}
	r.note["pause"] = "built in " + seconds(t0, 1) + "s"
	return os.Rename(out+".new", out)
}
