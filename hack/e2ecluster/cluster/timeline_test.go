package cluster

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot/source"
	"github.com/kubebake/kubebake/hack/e2ecluster/timeline"
	"github.com/kubebake/kubebake/internal/testutil"
)

// TestTimelinePart: the timeline's boothook lands the script byte for
// byte and starts it through systemd-run without blocking the boot; the
// user data of a run with Options.Timeline carries it beside the report
// script, and the NodeConfig is still where firstboot finds it.
func TestTimelinePart(t *testing.T) {
	sc := testutil.Tool(t, "shellcheck")
	o := timeline.ScriptOptions{Node: "worker1", Mode: timeline.ModeJoin, ReadyWait: time.Minute, BootWait: 2 * time.Minute}
	part, err := TimelinePart(o)
	require.NoError(t, err)
	assert.Equal(t, `text/cloud-boothook; charset="utf-8"`, part.ContentType)
	script, err := timeline.Script(o)
	require.NoError(t, err)

	dir := t.TempDir()
	hook := filepath.Join(dir, "hook.sh")
	body := strings.TrimPrefix(string(part.Content), "#cloud-boothook\n")
	require.NoError(t, os.WriteFile(hook, []byte(body), 0o755))
	out, err := exec.Command(sc, "-s", "sh", hook).CombinedOutput()
	assert.NoError(t, err, "shellcheck:\n%s\n%s", out, body)

	bin := filepath.Join(dir, "bin")
	require.NoError(t, os.Mkdir(bin, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bin, "systemd-run"), []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" >\"$ARGS\"\n"), 0o755))
	require.NoError(t, os.WriteFile(hook, []byte(strings.ReplaceAll(body, "/run/", dir+"/")), 0o755))
	cmd := exec.Command("sh", hook)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "ARGS="+filepath.Join(dir, "args"))
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	got, err := os.ReadFile(filepath.Join(dir, "kubebake-e2e-timeline.sh"))
	require.NoError(t, err)
	assert.Equal(t, string(script), string(got))
	args, err := os.ReadFile(filepath.Join(dir, "args"))
	require.NoError(t, err)
	assert.Contains(t, string(args), "--no-block\n--unit=kubebake-e2e-timeline\n")

	_, err = TimelinePart(timeline.ScriptOptions{Node: "x", Mode: "worker", ReadyWait: time.Minute, BootWait: time.Minute})
	require.ErrorContains(t, err, "mode")

	s, err := NewSecrets()
	require.NoError(t, err)
	run := Options{Nodes: []Node{cp, worker}, Cluster: tcg, ReadyWait: 20 * time.Minute, Timeline: true}
	for _, n := range run.Nodes {
		ud, err := userData(run, n, s)
		require.NoError(t, err)
		assert.Contains(t, string(ud), "kubebake-e2e-1-report.sh")
		assert.Contains(t, string(ud), "kubebake-e2e-3-timeline-boothook.sh")
		assert.Contains(t, string(ud), "START "+map[string]string{"init": "init", "join": "join"}[n.Role], "the node's mode")
		assert.Contains(t, string(ud), "timeout 2100 systemctl is-system-running --wait", "the boot's wait outlasts the report's")
		doc, ok, err := source.FromUserData(ud)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Contains(t, string(doc), "role: "+n.Role)
	}
	run.Timeline = false
	ud, err := userData(run, cp, s)
	require.NoError(t, err)
	assert.NotContains(t, string(ud), "timeline")
}

// fakeQEMU stands in for qemu-system-x86_64: it writes what a node's
// console and second serial port would show (the firmware, the kernel,
// firstboot's result; the report's verdict, then the timeline a second
// later), logs when it started and when it reported success, and waits to
// be stopped.
const fakeQEMU = `#!/bin/bash
serial=() 
while [ $# -gt 0 ]; do
  if [ "$1" = -serial ]; then serial+=("${2#file:}"); shift; fi
  shift
done
console=${serial[0]} report=${serial[1]}
node=$(basename "$(dirname "$console")")
now() { date +%s.%N; }
echo "start $node $(now)" >>"$FAKE_LOG"
printf 'BdsDxe: starting Boot0001 "UEFI Misc Device"\r\n' >>"$console"
sleep 0.3
printf '[    0.000000] Linux version 6.12\r\n[    0.100000] printk: legacy console [ttyS0] enabled\r\n[    0.150000] Run /init as init process\r\n' >>"$console"
sleep "$([ "$node" = cp1 ] && echo 1 || echo 0.2)"
if [ "$node" = "${FAKE_FAIL:-}" ]; then
  echo "failed $node $(now)" >>"$FAKE_LOG"
  printf 'kubebake-firstboot: FAILED: kubeadm phase: exit status 1\r\n' >>"$console"
  sleep 60
fi
echo "success $node $(now)" >>"$FAKE_LOG"
printf 'kubebake-firstboot: SUCCESS %s node %s done (Kubernetes v1.36.3) in 1.0s\r\n' "$node" "$node" >>"$console"
printf 'E2E %s STATUS {"result":"success","phases":[{"name":"kubeadm","seconds":0.5,"result":"success"}]}\n' "$node" >>"$report"
sleep 0.5
echo "settled $node $(now)" >>"$FAKE_LOG"
printf 'E2E %s SETTLED 9.0s nodes Ready 1/2\nE2E %s RESULT PASS fake\n' "$node" "$node" >>"$report"
sleep 1
printf 'KUBEBAKE-TIMELINE %s START %s 1.0\nKUBEBAKE-TIMELINE %s READY 9.5\nKUBEBAKE-TIMELINE %s DONE 12.0\n' "$node" "$node" "$node" "$node" >>"$report"
sleep 60
`

// TestRunJoinAfterInitTimeline runs a 2-node cluster of fake machines:
// with JoinAfterInit the join starts only after the init node's result
// and its control plane has settled;
// with Timeline each node's console is timestamped and its timeline, which
// comes after its report's verdict, is waited for.
func TestRunJoinAfterInitTimeline(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	qemu, log, image := filepath.Join(dir, "qemu"), filepath.Join(dir, "log"), filepath.Join(dir, "image.qcow2")
	require.NoError(t, os.WriteFile(qemu, []byte(fakeQEMU), 0o755))
	require.NoError(t, os.WriteFile(image, nil, 0o644))
	t.Setenv("FAKE_LOG", log)
	nodes := []Node{
		{Name: "cp1", Role: "init", IP: "192.168.76.11", MAC: "52:54:00:6b:62:11"},
		{Name: "worker1", Role: "join", IP: "192.168.76.12", MAC: "52:54:00:6b:62:12"},
	}
	var between string
	res, err := Run(context.Background(), Options{
		Image: image, WorkDir: filepath.Join(dir, "w"), Nodes: nodes, Cluster: tcg, Accel: "tcg", QEMU: qemu,
		Timeout: time.Minute, ReadyWait: time.Minute, JoinAfterInit: true, Timeline: true,
		AfterSettled: func(context.Context) error {
			// What the log holds now: the init node settled, the join not
			// yet started.
			b, err := os.ReadFile(log)
			require.NoError(t, err)
			between = string(b)
			return nil
		},
	})
	require.NoError(t, err)
	assert.True(t, res.Pass)
	require.Len(t, res.Nodes, 2)
	assert.Contains(t, between, "settled cp1", "AfterSettled runs once the init node has settled")
	assert.NotContains(t, between, "start worker1", "and before the join starts")

	events := map[string]float64{}
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		require.Len(t, f, 3, "%q", l)
		events[f[0]+" "+f[1]], err = strconv.ParseFloat(f[2], 64)
		require.NoError(t, err)
	}
	assert.Greater(t, events["start worker1"], events["success cp1"], "the join starts after the init node's result")
	assert.Greater(t, events["start worker1"], events["settled cp1"], "the join starts once the init node's control plane has settled")

	for _, n := range res.Nodes {
		assert.True(t, n.Success, n.Node.Name)
		assert.Empty(t, n.TimelineError, n.Node.Name)
		assert.True(t, n.Guest.Done, "%s: the timeline after the report's verdict was waited for", n.Node.Name)
		assert.Equal(t, 9.5, n.Guest.Ready)
		h := n.Host
		assert.Positive(t, h.BootManager, n.Node.Name)
		assert.GreaterOrEqual(t, h.FirstKernelLine, 0.3, "%s: the kernel's lines come 0.3 s after the firmware's", n.Node.Name)
		assert.InDelta(t, h.FirstKernelLine-0.15, h.KernelStart, 0.3, "%s: the estimate is the arrival less the printk time", n.Node.Name)
		assert.Equal(t, 0.15, h.RunInit)
		assert.Less(t, h.FirstKernelLine, n.PowerOnToResult.Seconds(), n.Node.Name)
	}
	tl := timeline.Build(timeline.Input{Kind: timeline.KindJoin, Node: "worker1", Host: res.Nodes[1].Host, Guest: res.Nodes[1].Guest})
	assert.NotEmpty(t, tl.Segments)
}

// TestRunJoinAfterInitFailed: when the init node fails, the others are not
// started and Run says why.
func TestRunJoinAfterInitFailed(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	qemu, log, image := filepath.Join(dir, "qemu"), filepath.Join(dir, "log"), filepath.Join(dir, "image.qcow2")
	require.NoError(t, os.WriteFile(qemu, []byte(fakeQEMU), 0o755))
	require.NoError(t, os.WriteFile(image, nil, 0o644))
	t.Setenv("FAKE_LOG", log)
	t.Setenv("FAKE_FAIL", "cp1")
	_, err := Run(context.Background(), Options{
		Image: image, WorkDir: filepath.Join(dir, "w"), Nodes: []Node{cp, worker}, Cluster: tcg, Accel: "tcg", QEMU: qemu,
		Timeout: time.Minute, ReadyWait: time.Minute, JoinAfterInit: true,
	})
	require.ErrorContains(t, err, "cp1 failed (kubebake-firstboot: FAILED: kubeadm phase")
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "worker1", "the join never started")
}

// TestBootPlain boots a fake plain base: its timeline is waited for and
// its console timestamped; bad options are refused.
func TestBootPlain(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	qemu, image := filepath.Join(dir, "qemu"), filepath.Join(dir, "base.qcow2")
	require.NoError(t, os.WriteFile(qemu, []byte(fakeQEMU), 0o755))
	require.NoError(t, os.WriteFile(image, nil, 0o644))
	t.Setenv("FAKE_LOG", filepath.Join(dir, "log"))
	node := Node{Name: "base1", IP: "192.168.76.11", MAC: "52:54:00:6b:62:11", MemoryMiB: 3072}
	res, err := BootPlain(context.Background(), PlainOptions{Image: image, WorkDir: filepath.Join(dir, "w"), Node: node, Accel: "tcg", QEMU: qemu, Wait: time.Minute})
	require.NoError(t, err)
	assert.Empty(t, res.TimelineError)
	assert.True(t, res.Guest.Done)
	assert.Positive(t, res.Host.KernelStart)
	assert.GreaterOrEqual(t, res.PowerOnToTimeline, 1500*time.Millisecond, "the timeline comes last")
	assert.Equal(t, filepath.Join(dir, "w", "base1", "report.log"), res.ReportLog)

	_, err = BootPlain(context.Background(), PlainOptions{Image: image, WorkDir: dir, Node: Node{Name: "x"}, Accel: "tcg", QEMU: qemu, Wait: time.Minute})
	require.ErrorContains(t, err, "address")
	_, err = BootPlain(context.Background(), PlainOptions{Image: filepath.Join(dir, "none.qcow2"), WorkDir: dir, Node: node, Accel: "tcg", QEMU: qemu, Wait: time.Minute})
	require.ErrorContains(t, err, "image")
}
