package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGetopts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		want    cmdline
		wantErr string
	}{
		{name: "none", args: nil, want: cmdline{version: "v1.36.3"}},
		{name: "separate values", args: []string{"-v", "v1.35.4", "-o", "/tmp/x", "kubeadm"},
			want: cmdline{version: "v1.35.4", outdir: "/tmp/x", args: []string{"kubeadm"}}},
		{name: "attached value", args: []string{"-v1.35.4"}, want: cmdline{version: "1.35.4"}},
		{name: "value that looks like an option", args: []string{"-v", "-o"}, want: cmdline{version: "-o"}},
		{name: "empty value", args: []string{"-v", ""}, want: cmdline{version: ""}},
		{name: "double dash ends options", args: []string{"--", "-v"}, want: cmdline{version: "v1.36.3", args: []string{"-v"}}},
		{name: "first argument ends options", args: []string{"kubeadm", "-v", "x"},
			want: cmdline{version: "v1.36.3", args: []string{"kubeadm", "-v", "x"}}},
		{name: "lone dash is an argument", args: []string{"-"}, want: cmdline{version: "v1.36.3", args: []string{"-"}}},
		{name: "help", args: []string{"-h"}, want: cmdline{version: "v1.36.3", help: true}},
		{name: "help stops at once", args: []string{"-v", "1.x", "-h", "-z"}, want: cmdline{version: "1.x", help: true}},
		{name: "grouped help", args: []string{"-hv"}, want: cmdline{version: "v1.36.3", help: true}},
		{name: "missing value", args: []string{"-o"}, wantErr: "option -o needs a value (see -h)"},
		{name: "unknown option", args: []string{"-x", "-h"}, wantErr: "unknown option -x (see -h)"},
		{name: "long option", args: []string{"--version"}, wantErr: "unknown option -- (see -h)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := getopts(tc.args, "v1.36.3")
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			if tc.want.help {
				assert.True(t, got.help)
				assert.Equal(t, tc.want.version, got.version)
				return
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCommandParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		command string
		args    []string
		want    options
		wantErr string
	}{
		{name: "k8s-bin default", command: "k8s-bin",
			want: options{version: Version{Major: "1", Minor: "36", Patch: "3"}}},
		{name: "k8s-bin without v, binaries kept for later", command: "k8s-bin", args: []string{"-v", "1.37.0-rc.1", "-o", "out", "kubectl", "nope"},
			want: options{version: Version{Major: "1", Minor: "37", Patch: "0", Pre: "-rc.1"}, outdir: "out", args: []string{"kubectl", "nope"}}},
		{name: "k8s-bin bad version", command: "k8s-bin", args: []string{"-v", "1.x"},
			wantErr: "VERSION must look like v1.36.3 (got 'v1.x')"},
		{name: "k8s-bin 2.x", command: "k8s-bin", args: []string{"-v", "v2.0.0"},
			wantErr: "only Kubernetes 1.x is supported (got v2.0.0)"},
		{name: "k8s-images 2.x", command: "k8s-images", args: []string{"-v", "v2.0.0"},
			wantErr: "only Kubernetes 1.x is supported (got v2.0.0)"},
		{name: "k8s-images arguments before the version check", command: "k8s-images", args: []string{"-v", "1.x", "kubeadm", "x"},
			wantErr: "unexpected arguments: kubeadm x (see -h)"},
		{name: "cri-dockerd default", command: "cri-dockerd",
			want: options{version: Version{Major: "0", Minor: "4", Patch: "3"}}},
		{name: "cri-dockerd bad version", command: "cri-dockerd", args: []string{"-v", "0.4"},
			wantErr: "VERSION must look like v0.4.3 (got 'v0.4')"},
		{name: "cri-dockerd arguments", command: "cri-dockerd", args: []string{"cri-dockerd"},
			wantErr: "unexpected arguments: cri-dockerd (see -h)"},
		{name: "cri-o default", command: "cri-o",
			want: options{version: Version{Major: "1", Minor: "36", Patch: "2"}}},
		{name: "cri-o other version", command: "cri-o", args: []string{"-v", "1.35.2", "-o", "bin"},
			want: options{version: Version{Major: "1", Minor: "35", Patch: "2"}, outdir: "bin"}},
		{name: "cri-o bad version", command: "cri-o", args: []string{"-v", "1.36"},
			wantErr: "VERSION must look like v1.36.2 (got 'v1.36')"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, help, err := commands[tc.command].parse(tc.args)
			assert.False(t, help)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestSelectBinaries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{name: "default: the node binaries", want: []string{"kubeadm", "kubelet", "kubectl", "crictl"}},
		{name: "canonical order, no duplicates", args: []string{"kube-proxy", "crictl", "kubeadm", "crictl"},
			want: []string{"kubeadm", "crictl", "kube-proxy"}},
		{name: "unknown", args: []string{"kubeadm", "etcd"},
			wantErr: "unknown binary 'etcd' (choose from: kubeadm kubelet kubectl crictl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := selectBinaries(tc.args)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestMainHelpAndErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "help", args: []string{"cri-dockerd", "-h"}, wantStdout: "usage: hack/cri-dockerd.sh [-v VERSION] [-o OUTDIR]\n"},
		{name: "bad version", args: []string{"k8s-bin", "-v", "1.x"}, wantCode: 1,
			wantStderr: "k8s-bin: error: VERSION must look like v1.36.3 (got 'v1.x')\n"},
		{name: "unknown command", args: []string{"nope"}, wantCode: 2, wantStderr: "usage: modbuild"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), tc.args, &stdout, &stderr)
			assert.Equal(t, tc.wantCode, code)
			if tc.wantStdout != "" {
				assert.Contains(t, stdout.String(), tc.wantStdout)
			}
			if tc.wantStderr != "" {
				assert.Contains(t, stderr.String(), tc.wantStderr)
			}
		})
	}
}
