package cluster

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What the report script writes on the init node's second serial port,
// with another node's line interleaved and a carriage return.
const initReport = `E2E cp1 INSTALL-START 61.20
E2E cp1 INSTALL-DONE 301.70
E2E cp1 STATUS {"result":"success","phase":"done","attempt":1,"startedAt":"2026-11-22T07:00:00Z","durationSeconds":310.5,"phases":[{"name":"config","seconds":0.1,"result":"success"},{"name":"kubeadm","seconds":290.2,"result":"success"},{"name":"cni","seconds":15.5,"result":"success"},{"name":"hooks-after","seconds":0.5,"result":"success"}]}
E2E cp1 UPTIME 402.17
E2E worker1 RESULT FAIL not mine
E2E cp1 PROGRESS 402.50s nodes Ready 1/2; kube-system pods 7, not yet Running and Ready: coredns-1
E2E cp1 UPTIME 530.00
E2E cp1 NODES NAME      STATUS   ROLES
E2E cp1 NODES cp1       Ready    control-plane
E2E cp1 PODS kube-system etcd-cp1 1/1 Running
E2E cp1 RESULT PASS 2 nodes Ready, 8 kube-system pods Running and Ready` + "\r\n"

func TestParse(t *testing.T) {
	r := Parse([]byte(initReport), "cp1")
	require.NotNil(t, r.Status)
	assert.Equal(t, "success", r.Status.Result)
	assert.Len(t, r.Status.Phases, 4)
	assert.Equal(t, []float64{402.17, 530}, r.Uptimes)
	assert.Equal(t, 61.2, r.InstallStart)
	assert.Equal(t, 301.7, r.InstallDone)
	assert.Equal(t, []string{"NAME      STATUS   ROLES", "cp1       Ready    control-plane"}, r.Nodes)
	assert.Len(t, r.Progress, 1)
	assert.True(t, r.Done)
	assert.True(t, r.Pass)
	assert.Equal(t, "2 nodes Ready, 8 kube-system pods Running and Ready", r.Detail)

	w := Parse([]byte(initReport), "worker1")
	assert.True(t, w.Done)
	assert.False(t, w.Pass)
	assert.Nil(t, w.Status)

	bad := Parse([]byte("E2E cp1 STATUS {not json\n"), "cp1")
	assert.Nil(t, bad.Status)
	assert.NotEmpty(t, bad.StatusError)
	assert.False(t, bad.Done)
}

func TestPrint(t *testing.T) {
	res := &Result{Nodes: []NodeResult{
		{Node: cp, Success: true, PowerOnToResult: 402 * time.Second, FirstbootLine: "kubebake-firstboot: SUCCESS init node cp1", Report: Parse([]byte(initReport), "cp1")},
		{Node: worker, FirstbootLine: "kubebake-firstboot: FAILED: kubeadm phase", PowerOnToResult: time.Minute},
	}}
	var b bytes.Buffer
	res.Print(&b)
	out := b.String()
	assert.Contains(t, out, "cp1 (init, 192.168.76.11): power-on to firstboot result 402s")
	assert.Contains(t, out, "cp1 (init, 192.168.76.11): power-on to kubeadm success 386s", "402s less the 16s of cni and hooks-after")
	assert.NotContains(t, out, "worker1 (join, 192.168.76.12): power-on to kubeadm success", "a failed node has no kubeadm success")
	assert.Contains(t, out, "kubeadm           290.2s  success")
	assert.Contains(t, out, "install at boot: from guest uptime 61.2s to 301.7s (240.5s)")
	assert.Contains(t, out, "cluster checked at guest uptime 530.0s (127.8s after firstboot's result)")
	assert.Contains(t, out, "PASS cp1: 2 nodes Ready")
	assert.Contains(t, out, "FAIL worker1: no report")
}

func TestPowerOnToKubeadm(t *testing.T) {
	status := func(result string, phases string) Report {
		return Parse([]byte(`E2E cp1 STATUS {"result":"`+result+`","phases":[`+phases+`]}`+"\n"), "cp1")
	}
	for _, tc := range []struct {
		name    string
		success bool
		report  Report
		want    time.Duration
		ok      bool
	}{
		{"phases after kubeadm are taken off", true, status("success", `{"name":"kubeadm","seconds":100,"result":"success"},{"name":"cni","seconds":20,"result":"success"}`), 280 * time.Second, true},
		{"kubeadm last", true, status("success", `{"name":"config","seconds":1,"result":"success"},{"name":"kubeadm","seconds":100,"result":"success"}`), 300 * time.Second, true},
		{"no kubeadm phase (resumed after kubeadm)", true, status("success", `{"name":"cni","seconds":20,"result":"success"}`), 0, false},
		{"kubeadm failed", false, status("failure", `{"name":"kubeadm","seconds":100,"result":"failure"}`), 0, false},
		{"no status", true, Report{}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := NodeResult{Success: tc.success, PowerOnToResult: 300 * time.Second, Report: tc.report}.PowerOnToKubeadm()
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, d)
		})
	}
}
