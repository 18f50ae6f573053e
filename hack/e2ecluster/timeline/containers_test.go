package timeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseContainers(t *testing.T) {
	for _, tc := range []struct {
		name, text, err string
		want            []Container
	}{
		{
			name: "createdAt as a string and as a number",
			text: `1000000000000 500.5 {"containers":[{"metadata":{"name":"kube-apiserver","attempt":0},"state":"CONTAINER_RUNNING","createdAt":"900000000000","labels":{"io.kubernetes.pod.name":"kube-apiserver-cp1"}},` +
				`{"metadata":{"name":"etcd","attempt":0},"state":"CONTAINER_RUNNING","createdAt":800000000000}]}`,
			want: []Container{
				{Name: "etcd", Attempt: 0, State: "CONTAINER_RUNNING", Created: 300.5},
				{Name: "kube-apiserver", Pod: "kube-apiserver-cp1", State: "CONTAINER_RUNNING", Created: 400.5},
			},
		},
		{name: "no containers", text: `1000 5.0 {"containers":[]}`},
		{name: "crictl printed nothing", text: "1000 5.0", err: "want WALL_NS UPTIME JSON"},
		{name: "bad wall clock", text: "x 5.0 {}", err: "wall clock"},
		{name: "bad uptime", text: "1000 x {}", err: "uptime"},
		{name: "not JSON", text: "1000 5.0 FATA[0000] connect: no such file", err: "crictl ps"},
		{name: "bad createdAt", text: `1000 5.0 {"containers":[{"metadata":{"name":"etcd"},"createdAt":"soon"}]}`, err: "container etcd: createdAt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseContainers(tc.text)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestContainerSegments: each control-plane container from the kubelet's
// start, a restarted one's restarts, containers from before the kubelet's
// start (an earlier attempt) left out.
func TestContainerSegments(t *testing.T) {
	journal := []JournalLine{
		{At: 40, Ident: "kubebake-firstboot", Message: "[kubelet-start] Starting the kubelet"},
		{At: 61, Ident: "kubebake-firstboot", Message: "[kubelet-start] Writing kubelet configuration to file"},
		{At: 62, Ident: "kubebake-firstboot", Message: "[kubelet-start] Starting the kubelet"},
		{At: 130, Ident: "kubebake-firstboot", Message: "[wait-control-plane] Waiting for the kubelet"},
		{At: 400, Ident: "kubebake-firstboot", Message: "[kubelet-start] Starting the kubelet"},
	}
	segs, _ := kubeadmSegments(journal, 30, 300)
	at := kubeletStarted(segs)
	assert.Equal(t, 62.0, at, "the last start before kubeadm's end (and its slack)")
	b := &builder{}
	b.containerSegments([]Container{
		{Name: "etcd", Created: 50}, // an earlier attempt's
		{Name: "etcd", Created: 70},
		{Name: "kube-apiserver", Created: 72},
		{Name: "kube-controller-manager", Created: 71},
		{Name: "kube-controller-manager", Attempt: 1, Created: 140},
		{Name: "kube-controller-manager", Attempt: 2, Created: 175},
		{Name: "coredns", Created: 190},
		{Name: "coredns", Created: 191},
		{Name: "kindnet", Created: 200},
	}, at)
	got := map[string][2]float64{}
	for _, s := range b.t.Segments {
		assert.Equal(t, GroupPods, s.Group)
		assert.Equal(t, ClockGuest, s.Clock)
		got[s.Name] = [2]float64{s.Start, s.End}
	}
	assert.Equal(t, map[string][2]float64{
		"kubelet started → etcd container created":                                           {62, 70},
		"kubelet started → kube-apiserver container created":                                 {62, 72},
		"kubelet started → kube-controller-manager container created":                        {62, 71},
		"kube-controller-manager: first container → last restart's (runs that restarted it)": {71, 175},
		"kubelet started → coredns container created":                                        {62, 190},
	}, got)

	none := &builder{}
	none.containerSegments(nil, 62)
	none.containerSegments([]Container{{Name: "etcd", Created: 70}}, 0)
	assert.Empty(t, none.t.Segments, "nothing without containers or without the kubelet's start")
}
