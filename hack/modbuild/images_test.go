package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseImageList(t *testing.T) {
	t.Parallel()
	kube := []string{
		"registry.k8s.io/kube-apiserver:v1.36.3",
		"registry.k8s.io/kube-controller-manager:v1.36.3",
		"registry.k8s.io/kube-scheduler:v1.36.3",
		"registry.k8s.io/kube-proxy:v1.36.3",
	}
	others := []string{"registry.k8s.io/coredns/coredns:v1.14.2", "registry.k8s.io/pause:3.10.2", "registry.k8s.io/etcd:3.6.8-0"}
	tests := []struct {
		name    string
		refs    []string
		want    imageTags
		wantErr string
	}{
		{name: "kubeadm 1.36", refs: append(append([]string{}, kube...), others...),
			want: imageTags{etcd: "3.6.8-0", coredns: "v1.14.2", pause: "3.10.2"}},
		{name: "registry with a port", refs: []string{"localhost:5000/etcd:3.6.8-0", "localhost:5000/coredns:v1.14.2", "localhost:5000/pause:3.10.2"},
			want: imageTags{etcd: "3.6.8-0", coredns: "v1.14.2", pause: "3.10.2"}},
		{name: "wrong kube tag", refs: []string{"registry.k8s.io/kube-proxy:v1.36.2"},
			wantErr: "kubeadm lists registry.k8s.io/kube-proxy:v1.36.2, expected tag v1.36.3"},
		{name: "no tag", refs: []string{"etcd"}, wantErr: "kubeadm listed 'etcd', which has no tag"},
		{name: "unknown image", refs: []string{"registry.k8s.io/kube-dns:1.0"},
			wantErr: "kubeadm lists registry.k8s.io/kube-dns:1.0, which this script cannot build"},
		{name: "no pause", refs: append(append([]string{}, kube...), others[0], others[2]),
			wantErr: "kubeadm's image list lacks etcd, coredns or pause: " + "registry.k8s.io/kube-apiserver:v1.36.3 registry.k8s.io/kube-controller-manager:v1.36.3 " +
				"registry.k8s.io/kube-scheduler:v1.36.3 registry.k8s.io/kube-proxy:v1.36.3 registry.k8s.io/coredns/coredns:v1.14.2 registry.k8s.io/etcd:3.6.8-0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseImageList(tc.refs, "v1.36.3")
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestEtcdVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, tag, override, want string
	}{
		{name: "image rebuild suffix", tag: "3.6.8-0", want: "v3.6.8"},
		{name: "no suffix", tag: "3.6.8", want: "v3.6.8"},
		{name: "override", tag: "3.6.8-0", override: "3.6.16", want: "v3.6.16"},
		{name: "override with v", tag: "3.6.8-0", override: "v3.6.16", want: "v3.6.16"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, etcdVersion(tc.tag, tc.override))
		})
	}
}

func TestAptCandidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		out      string
		wantDebs string
		wantN    int
	}{
		{name: "none", out: ""},
		{
			name: "sorted, one per stanza",
			out: "Package: netbase\nVersion: 6.4\nArchitecture: all\n\n" +
				"Package: libnetfilter-conntrack3\nSource: libnetfilter-conntrack\nVersion: 1.0.9-3\n\n" +
				"Package: iptables\nVersion: 1.8.9-2\nDepends: libc6 (>= 2.34)\n",
			wantDebs: "iptables=1.8.9-2 libnetfilter-conntrack3=1.0.9-3 netbase=6.4 ",
			wantN:    3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			debs, n := aptCandidates(tc.out)
			assert.Equal(t, tc.wantDebs, debs)
			assert.Equal(t, tc.wantN, n)
		})
	}
}
