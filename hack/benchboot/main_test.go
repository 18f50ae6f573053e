package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/hack/e2ecluster/cluster"
	"github.com/kubebake/kubebake/hack/e2ecluster/timeline"
)

func TestRoundOrder(t *testing.T) {
	for _, tc := range []struct {
		name          string
		round         int
		compare, skip bool
		want          []string
	}{
		{"first round", 1, false, false, []string{"baked", "base", "baseline"}},
		{"second round, rotated", 2, false, false, []string{"base", "baseline", "baked"}},
		{"third round", 3, false, false, []string{"baseline", "baked", "base"}},
		{"fourth round as the first", 4, false, false, []string{"baked", "base", "baseline"}},
		{"no baseline, first", 1, false, true, []string{"baked", "base"}},
		{"no baseline, second", 2, false, true, []string{"base", "baked"}},
		{"compared, no baseline, first", 1, true, true, []string{"baked", "compare", "base"}},
		{"compared, no baseline, second", 2, true, true, []string{"compare", "base", "baked"}},
		{"compared, no baseline, third", 3, true, true, []string{"base", "baked", "compare"}},
		{"compared and baseline, second", 2, true, false, []string{"compare", "base", "baseline", "baked"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, roundOrder(tc.round, tc.compare, tc.skip))
		})
	}
}

func TestCheck(t *testing.T) {
	ok := options{image: "i.qcow2", base: "b.qcow2", rounds: 3, bundle: cluster.BundleOptions{Recipe: "r.yaml", KubernetesDir: "k", Firstboot: "f"}}
	require.NoError(t, ok.check())
	for _, tc := range []struct {
		name string
		edit func(*options)
		err  string
	}{
		{"no image", func(o *options) { o.image = "" }, "-image"},
		{"no base", func(o *options) { o.base = "" }, "-base"},
		{"no rounds", func(o *options) { o.rounds = 0 }, "-rounds 0"},
		{"a baseline without its recipe", func(o *options) { o.bundle.Recipe = "" }, "-bundle-recipe"},
		{"a baseline without binaries", func(o *options) { o.bundle.KubernetesDir = "" }, "-kubernetes-binaries-dir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			require.ErrorContains(t, o.check(), tc.err)
		})
	}
	skip := ok
	skip.bundle, skip.skipBaseline = cluster.BundleOptions{}, true
	require.NoError(t, skip.check(), "no bundle needed without the baseline")
}

func TestNodeRun(t *testing.T) {
	b, err := os.ReadFile("../e2ecluster/timeline/testdata/init-report.log")
	require.NoError(t, err)
	good := cluster.NodeResult{
		Node: cluster.Node{Name: "cp1", Role: "init"}, Success: true, PowerOnToResult: 350 * time.Second,
		Report: cluster.Parse(append(b, []byte("E2E cp1 RESULT PASS 2 nodes Ready\n")...), "cp1"),
		Host:   timeline.HostMarks{KernelStart: 3.2}, Guest: timeline.ParseGuest(b, "cp1"),
	}
	// The report script's status.json, as the timeline's.
	good.Report.Status = good.Guest.Status
	for _, tc := range []struct {
		name string
		edit func(*cluster.NodeResult)
		ok   bool
		err  string
	}{
		{"counted", func(*cluster.NodeResult) {}, true, ""},
		{"firstboot failed", func(n *cluster.NodeResult) {
			n.Success, n.FirstbootLine = false, "kubebake-firstboot: FAILED: kubeadm phase"
		}, false, "firstboot: kubebake-firstboot: FAILED: kubeadm phase"},
		{"no report", func(n *cluster.NodeResult) { n.Report = cluster.Report{} }, false, "report: no report"},
		{"no timeline", func(n *cluster.NodeResult) {
			n.Guest, n.TimelineError = timeline.Guest{}, "no timeline: deadline"
		}, false, "no timeline: deadline; the timeline script did not finish"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nr := good
			tc.edit(&nr)
			r := nodeRun(2, timeline.KindInit, nr)
			assert.Equal(t, tc.ok, r.OK)
			assert.Equal(t, tc.err, r.Error)
			assert.Equal(t, 2, r.Round)
			require.NotNil(t, r.Timeline)
			assert.Equal(t, timeline.KindInit, r.Timeline.Kind)
		})
	}
	r := nodeRun(1, timeline.KindInit, good)
	var kubeadm float64
	for _, s := range r.Timeline.Segments {
		if s.Name == "total: power-on → kubeadm success" {
			kubeadm = s.End
		}
	}
	// 350 s less the 52.06 s of cni after kubeadm (post-init and
	// hooks-after took nothing).
	assert.InDelta(t, 297.94, kubeadm, 1e-6)
}

// fakeQEMU writes what a node's console and second serial port show,
// quickly, and waits to be stopped (see package cluster's tests).
const fakeQEMU = `#!/bin/bash
serial=()
while [ $# -gt 0 ]; do
  if [ "$1" = -serial ]; then serial+=("${2#file:}"); shift; fi
  shift
done
console=${serial[0]} report=${serial[1]}
node=$(basename "$(dirname "$console")")
printf 'BdsDxe: starting Boot0001\r\n' >>"$console"
sleep 0.2
if [ "$node" = "${FAKE_PANIC_ONCE_NODE:-}" ] && mkdir "$FAKE_PANIC_MARK" 2>/dev/null; then
  printf '[    4.505949] Kernel panic - not syncing: Fatal exception in interrupt\r\n' >>"$console"
  sleep 60
fi
printf '[    0.000000] Linux version 6.12\r\n[    0.150000] Run /init as init process\r\n' >>"$console"
sleep 0.3
printf 'kubebake-firstboot: SUCCESS node %s\r\n' "$node" >>"$console"
printf 'E2E %s SETTLED 9.0s fake\nE2E %s RESULT PASS fake\n' "$node" "$node" >>"$report"
printf 'KUBEBAKE-TIMELINE %s START x 1.0\nKUBEBAKE-TIMELINE %s READY 9.5\nKUBEBAKE-TIMELINE %s MANAGER UserspaceTimestampMonotonic=10000000\nKUBEBAKE-TIMELINE %s DONE 12.0\n' "$node" "$node" "$node" "$node" >>"$report"
sleep 60
`

// fakeRound is a directory with the fake QEMU and empty baked and base
// images, and options for one round of them without the baseline; it
// skips the test without bash.
func fakeRound(t *testing.T) (string, options) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	qemu := filepath.Join(dir, "qemu")
	require.NoError(t, os.WriteFile(qemu, []byte(fakeQEMU), 0o755))
	for _, f := range []string{"baked.qcow2", "base.qcow2"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
	}
	return dir, options{
		image: filepath.Join(dir, "baked.qcow2"), base: filepath.Join(dir, "base.qcow2"), work: filepath.Join(dir, "run"),
		result: filepath.Join(dir, "out", "result.json"), accel: "tcg", qemu: qemu, rounds: 1, skipBaseline: true,
		timeout: time.Minute, readyWait: time.Minute, plainWait: time.Minute,
	}
}

// readResult reads the result file run wrote.
func readResult(t *testing.T, path string) timeline.Result {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var res timeline.Result
	require.NoError(t, json.Unmarshal(b, &res))
	return res
}

// TestRunFake runs a round with fake machines: every kind is booted, the
// result file and the table are written, and nothing failed.
func TestRunFake(t *testing.T) {
	dir, o := fakeRound(t)
	failed, err := run(context.Background(), o)
	require.NoError(t, err)
	assert.Zero(t, failed)
	res := readResult(t, o.result)
	assert.True(t, res.Complete)
	assert.Equal(t, "tcg", res.Accel)
	assert.Equal(t, [][]string{{"baked", "base"}}, res.Order)
	var kinds []string
	for _, r := range res.Runs {
		assert.True(t, r.OK, "%s %s: %s", r.Kind, r.Node, r.Error)
		kinds = append(kinds, r.Kind+" "+r.Node)
	}
	assert.Equal(t, []string{"init cp1", "join worker1", "base-loaded base2", "base base1"}, kinds, "the loaded base is booted in the baked cluster's run")
	require.Len(t, res.Summary, 4)

	table, err := os.ReadFile(filepath.Join(dir, "out", "table.txt"))
	require.NoError(t, err)
	assert.Contains(t, string(table), "== join: baked image, kubeadm join")
	assert.Contains(t, string(table), "firmware+loader: power-on → kernel start (estimated)")
	assert.Contains(t, string(table), "== base-loaded: plain base image, no NodeConfig, booted beside the baked init node")
	for _, d := range []string{"r1-baked", "r1-baked/base-loaded", "r1-base"} {
		assert.DirExists(t, filepath.Join(o.work, d))
	}
}

// TestClusterRunsInitAlone: without a join the cluster is its init node
// alone (the baseline by default), with the kind's prefix.
func TestClusterRunsInitAlone(t *testing.T) {
	dir, o := fakeRound(t)
	runs := clusterRuns(context.Background(), o, "tcg", 2, filepath.Join(dir, "r2-baseline"), o.base, "", "baseline-", nil, false)
	require.Len(t, runs, 1)
	assert.Equal(t, "baseline-init", runs[0].Kind)
	assert.Equal(t, "cp1", runs[0].Node)
	assert.Equal(t, 2, runs[0].Round)
	assert.True(t, runs[0].OK, runs[0].Error)
}

// TestRunRetriesAPanickedBoot: a boot whose guest kernel panicked is run
// again once; the panicked runs stay in the result, not counted, and the
// command does not fail.
func TestRunRetriesAPanickedBoot(t *testing.T) {
	dir, o := fakeRound(t)
	t.Setenv("FAKE_PANIC_ONCE_NODE", "worker1")
	t.Setenv("FAKE_PANIC_MARK", filepath.Join(dir, "panicked"))
	failed, err := run(context.Background(), o)
	require.NoError(t, err)
	assert.Zero(t, failed, "the retry succeeded")
	res := readResult(t, o.result)
	var ok, retried []string
	for _, r := range res.Runs {
		if r.OK {
			ok = append(ok, r.Kind)
		} else {
			assert.Contains(t, r.Error, "retried: ")
			retried = append(retried, r.Kind)
		}
	}
	assert.Equal(t, []string{"init", "join", "base-loaded", "base"}, ok, "each kind once, from the retry")
	assert.Contains(t, retried, "join", "the panicked join is in the result, marked")
	assert.NotContains(t, retried, "base", "only the panicked boot is retried")
	assert.DirExists(t, filepath.Join(o.work, "r1-baked-retry"))
}
