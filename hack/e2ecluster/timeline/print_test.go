package timeline

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/table.golden")

// fixtureResult is two rounds of the three fixtures (the host's marks a
// little different in each) and a baseline join that failed.
func fixtureResult(t *testing.T) *Result {
	t.Helper()
	r := NewResult(2, time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC))
	r.Accel = "tcg"
	r.Images = map[string]string{"baked": "out/bench-boot/image/debian-13-containerd-bench.qcow2", "base": "out/bench-boot/base-debian-13.qcow2"}
	r.Order = [][]string{{"baked", "base"}, {"base", "baked"}}
	for round, shift := range []float64{0, 0.4} {
		for _, f := range []struct{ file, node, kind string }{{"init-report.log", "cp1", KindInit}, {"join-report.log", "worker1", KindJoin}, {"plain-report.log", "base1", KindBase}} {
			g := ParseGuest(readFixture(t, f.file), f.node)
			h := HostMarks{FirstOutput: 1.1 + shift, BootManager: 1.4 + shift, EFIStub: 2.6 + shift, FirstKernelLine: 3.9 + shift, KernelStart: 3.2 + shift}
			in := Input{Kind: f.kind, Node: f.node, Round: round + 1, Host: h, Guest: g}
			if f.kind != KindBase {
				in.PowerOnToResult, in.PowerOnToKubeadm = 350+10*shift, 296+10*shift
			}
			tl := Build(in)
			r.Add(Run{Round: round + 1, Kind: f.kind, Node: f.node, OK: true, Host: h, Guest: &g, Timeline: &tl})
		}
	}
	r.Add(Run{Round: 2, Kind: KindBaselineJoin, Node: "worker1", Error: "waiting for kubebake-firstboot's result: context deadline exceeded"})
	r.Complete, r.FinishedAt = true, time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)
	return r
}

func TestPrintGolden(t *testing.T) {
	var b bytes.Buffer
	Print(&b, fixtureResult(t))
	golden := filepath.Join("testdata", "table.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, b.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -update to write it")
	assert.Equal(t, string(want), b.String())
	// What the table must say, whatever its layout.
	out := b.String()
	for _, s := range []string{
		"host+guest", "== init: baked image, kubeadm init; 2 run(s)", "== base: plain base image",
		"critical chain of kubebake-firstboot.service", "== ratios of medians", "(goal <= 1.2)",
		"round 2 baseline-join worker1: waiting for kubebake-firstboot's result",
	} {
		assert.Contains(t, out, s)
	}
	assert.NotContains(t, out, "== baseline-join", "a failed run is not in the figures")
}

// TestResultFile writes the result file and reads it back as JSON.
func TestResultFile(t *testing.T) {
	r := fixtureResult(t)
	path := filepath.Join(t.TempDir(), "result.json")
	require.NoError(t, r.Write(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var back Result
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, Schema, back.Schema)
	assert.True(t, back.Complete)
	assert.Len(t, back.Runs, 7)
	assert.Len(t, back.Summary, 3)
	assert.Equal(t, r.Ratios, back.Ratios)
	assert.False(t, back.Runs[6].OK)
	require.NotNil(t, back.Runs[0].Timeline)
	assert.Equal(t, r.Runs[0].Timeline.Segments, back.Runs[0].Timeline.Segments)
	row, ok := back.Summary[0].Row("total: power-on → kubeadm starts")
	require.True(t, ok)
	assert.Equal(t, ClockMixed, row.Clock)
	assert.Equal(t, 2, row.N)
	// 77.245 and 77.645.
	assert.InDelta(t, 77.445, row.Median, 1e-9)
	assert.InDelta(t, 0.4, row.Spread, 1e-9)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	assert.Contains(t, raw["clocks"], ClockHost)
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left")

	// A result with no run yet is valid too (empty lists, not null).
	empty := NewResult(3, time.Now())
	require.NoError(t, empty.Write(path))
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"summary": []`)
	assert.Contains(t, string(b), `"runs": []`)
	assert.Contains(t, string(b), `"complete": false`)
}
