package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProbeParsers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		parse func(string) string
		out   string
		want  string
	}{
		{name: "kubeadm", parse: kubeProbes["kubeadm"].parse, out: "v1.36.3\n", want: "v1.36.3"},
		{name: "kubelet", parse: kubeProbes["kubelet"].parse, out: "Kubernetes v1.36.3\n", want: "v1.36.3"},
		{name: "kubectl", parse: kubeProbes["kubectl"].parse, out: "Client Version: v1.36.3\nKustomize Version: v5.7.1\n", want: "v1.36.3"},
		{name: "kubectl, a warning first", parse: kubeProbes["kubectl"].parse, out: "WARNING: x\nClient Version: v1.36.3\n", want: "v1.36.3"},
		{name: "crictl", parse: kubeProbes["crictl"].parse, out: "crictl version v1.36.0\n", want: "v1.36.0"},
		{name: "unstamped kubelet", parse: kubeProbes["kube-proxy"].parse, out: "Kubernetes v0.0.0-master+$Format:%H$\n", want: "v0.0.0-master+$Format:%H$"},
		{name: "nothing", parse: kubeProbes["kubelet"].parse, out: "", want: ""},
		{name: "etcd", parse: imageProbes["etcd"].parse, out: "etcd Version: 3.6.8\nGit SHA: abc\nGo Version: go1.26.8\n", want: "3.6.8"},
		{name: "etcdctl", parse: imageProbes["etcdctl"].parse, out: "etcdctl version: 3.6.8\nAPI version: 3.6\n", want: "3.6.8"},
		{name: "coredns", parse: imageProbes["coredns"].parse, out: "CoreDNS-1.14.2\nlinux/amd64, go1.26.8, abc\n", want: "1.14.2"},
		{name: "pause", parse: imageProbes["pause"].parse, out: "pause (kubebake, Go) 3.10.2\n", want: "3.10.2"},
		{name: "cri-dockerd", parse: criDockerdVersion, out: "cri-dockerd 0.4.3 (d969e29)\n", want: "0.4.3"},
		{name: "cri-dockerd pre-release", parse: criDockerdVersion, out: "cri-dockerd 0.5.0-dev-pre (abc1234)\n", want: "0.5.0-dev-pre"},
		{name: "cri-dockerd, another first line", parse: criDockerdVersion, out: "warning\ncri-dockerd 0.4.3 (d969e29)\n", want: ""},
		{name: "cri-dockerd line", parse: criDockerdLine.parse, out: "cri-dockerd 0.4.3 (d969e29)\n", want: "cri-dockerd 0.4.3 (d969e29)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.parse(tc.out))
		})
	}
}

func TestLastLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		n    int
		want []string
	}{
		{name: "empty", in: "", n: 3},
		{name: "fewer", in: "a\nb\n", n: 3, want: []string{"a", "b"}},
		{name: "more", in: "a\nb\nc\nd", n: 2, want: []string{"c", "d"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, lastLines(tc.in, tc.n))
		})
	}
}

func TestCriDockerdStamp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, version                      string
		wantVersion, wantPre, wantReported string
	}{
		{name: "release", version: "v0.4.3", wantVersion: "0.4.3", wantReported: "0.4.3"},
		{name: "dev", version: "v0.5.0-dev.1", wantVersion: "0.5.0-dev.1", wantPre: "pre", wantReported: "0.5.0-dev.1-pre"},
		{name: "rc", version: "v0.5.0-rc.1", wantVersion: "0.5.0-rc.1", wantReported: "0.5.0-rc.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v, pre, want := criDockerdStamp(tc.version)
			assert.Equal(t, tc.wantVersion, v)
			assert.Equal(t, tc.wantPre, pre)
			assert.Equal(t, tc.wantReported, want)
		})
	}
}

func TestBuildTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, epoch, want, wantErr string
	}{
		{name: "unset", epoch: "", want: "19700101.000000"},
		{name: "set", epoch: "1700000000", want: "20231114.221320"},
		{name: "bad", epoch: "yesterday", wantErr: "SOURCE_DATE_EPOCH='yesterday' is not a number of seconds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := buildTime(tc.epoch)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
