package timeline

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want float64
	}{
		{"none", nil, 0},
		{"one", []float64{4.5}, 4.5},
		{"three, unsorted", []float64{9, 1, 5}, 5},
		{"two: their mean", []float64{3, 4}, 3.5},
		{"four, unsorted: the mean of the middle two", []float64{10, 1, 7, 3}, 5},
		{"equal values", []float64{2, 2, 2}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.in...)
			assert.Equal(t, tc.want, Median(tc.in))
			assert.Equal(t, in, tc.in, "the input is left as it was")
		})
	}
}

// run is a timeline of kind with the given segments (name, start, end).
func run(kind string, round int, segs ...Segment) Timeline {
	return Timeline{Kind: kind, Node: "n", Round: round, Segments: segs}
}

func seg(name, group, clock string, start, end float64) Segment {
	return Segment{Name: name, Group: group, Clock: clock, Start: start, End: end}
}

func TestAggregate(t *testing.T) {
	ts := []Timeline{
		run(KindBase, 1, seg("systemd → multi-user.target", GroupBoot, ClockGuest, 11, 50)),
		run(KindInit, 1,
			seg("total: kernel → kubeadm starts", GroupTotal, ClockGuest, 0, 74),
			seg("kubeadm [certs]", GroupKubeadm, ClockGuest, 80, 96),
			seg("systemd → kubebake-firstboot starts", GroupBoot, ClockGuest, 11, 73),
			seg("kubeadm [preflight]", GroupKubeadm, ClockGuest, 76, 80)),
		run(KindInit, 2,
			seg("total: kernel → kubeadm starts", GroupTotal, ClockGuest, 0, 90),
			seg("kubeadm [certs]", GroupKubeadm, ClockGuest, 95, 120),
			seg("systemd → kubebake-firstboot starts", GroupBoot, ClockGuest, 12, 88),
			seg("kubeadm [preflight]", GroupKubeadm, ClockGuest, 91, 95)),
		run(KindInit, 3,
			seg("total: kernel → kubeadm starts", GroupTotal, ClockGuest, 0, 80),
			seg("systemd → kubebake-firstboot starts", GroupBoot, ClockGuest, 10, 79),
			seg("kubeadm [preflight]", GroupKubeadm, ClockGuest, 81, 84)),
		run("custom", 1, seg("x", GroupBoot, ClockHost, 0, 1)),
		run(KindBase, 2, seg("systemd → multi-user.target", GroupBoot, ClockGuest, 10, 47)),
	}
	sums := Aggregate(ts)
	require.Len(t, sums, 3)
	assert.Equal(t, []string{KindInit, KindBase, "custom"}, []string{sums[0].Kind, sums[1].Kind, sums[2].Kind}, "Kinds' order, others after")

	init := sums[0]
	assert.Equal(t, 3, init.Runs)
	var names []string
	for _, r := range init.Rows {
		names = append(names, r.Name)
	}
	assert.Equal(t, []string{"systemd → kubebake-firstboot starts", "kubeadm [preflight]", "kubeadm [certs]", "total: kernel → kubeadm starts"}, names, "by group, then by median start")
	row, ok := init.Row("systemd → kubebake-firstboot starts")
	require.True(t, ok)
	// Lengths 62, 76, 69.
	assert.Equal(t, Row{Name: "systemd → kubebake-firstboot starts", Group: GroupBoot, Clock: ClockGuest, N: 3, Start: 11, End: 79, Median: 69, Min: 62, Max: 76, Spread: 14}, row)
	certs, _ := init.Row("kubeadm [certs]")
	// Two runs measured it: lengths 16 and 25, the median their mean.
	assert.Equal(t, Row{Name: "kubeadm [certs]", Group: GroupKubeadm, Clock: ClockGuest, N: 2, Start: 87.5, End: 108, Median: 20.5, Min: 16, Max: 25, Spread: 9}, certs)
	base := sums[1]
	mu, _ := base.Row("systemd → multi-user.target")
	assert.Equal(t, Row{Name: "systemd → multi-user.target", Group: GroupBoot, Clock: ClockGuest, N: 2, Start: 10.5, End: 48.5, Median: 38, Min: 37, Max: 39, Spread: 2}, mu)
	_, ok = base.Row("kubeadm [certs]")
	assert.False(t, ok)
}

func TestAggregateChain(t *testing.T) {
	chain := func(of string, units ...ChainUnit) Timeline {
		return Timeline{Kind: KindInit, ChainOf: of, Chain: units}
	}
	sums := Aggregate([]Timeline{
		chain("kubebake-firstboot.service",
			ChainUnit{Unit: "kubebake-firstboot.service", At: 73, Took: 270},
			ChainUnit{Unit: "cloud-config.service", Depth: 1, At: 62, Took: 10},
			ChainUnit{Unit: "cloud-init-network.service", Depth: 2, At: 45, Took: 17}),
		chain("kubebake-firstboot.service",
			ChainUnit{Unit: "kubebake-firstboot.service", At: 80, Took: 250},
			ChainUnit{Unit: "cloud-config.service", Depth: 1, At: 70, Took: 9},
			ChainUnit{Unit: "containerd.service", Depth: 2, At: 50, Took: 8}),
		chain("kubebake-firstboot.service",
			ChainUnit{Unit: "kubebake-firstboot.service", At: -1, Took: 260},
			ChainUnit{Unit: "cloud-config.service", Depth: 1, At: 66, Took: 11}),
		chain("multi-user.target", ChainUnit{Unit: "multi-user.target", At: 50}),
	})
	require.Len(t, sums, 1)
	s := sums[0]
	assert.Equal(t, "kubebake-firstboot.service", s.ChainOf, "the unit most chains are of")
	assert.Equal(t, []ChainRow{
		{Unit: "kubebake-firstboot.service", N: 3, At: 76.5, Took: 260},
		{Unit: "cloud-config.service", N: 3, Depth: 1, At: 66, Took: 10},
		{Unit: "containerd.service", N: 1, Depth: 2, At: 50, Took: 8},
		{Unit: "cloud-init-network.service", N: 1, Depth: 2, At: 45, Took: 17},
	}, s.Chain)
}

func TestRatios(t *testing.T) {
	sums := Aggregate([]Timeline{
		run(KindInit, 1, seg("total: power-on → kubeadm starts", GroupTotal, ClockMixed, 0, 60), seg("total: power-on → kubeadm success", GroupTotal, ClockHost, 0, 250)),
		run(KindBase, 1, seg("total: power-on → multi-user.target", GroupTotal, ClockMixed, 0, 50)),
		run(KindBaselineInit, 1, seg("total: power-on → kubeadm success", GroupTotal, ClockHost, 0, 1000)),
	})
	got := Ratios(sums)
	require.Len(t, got, 2, "only the ratios whose rows were measured")
	loaded := Ratios(Aggregate([]Timeline{
		run(KindJoin, 1, seg("total: power-on → kubeadm starts", GroupTotal, ClockMixed, 0, 105)),
		run(KindBase, 1, seg("total: power-on → multi-user.target", GroupTotal, ClockMixed, 0, 56)),
		run(KindBaseLoaded, 1, seg("total: power-on → multi-user.target", GroupTotal, ClockMixed, 0, 100)),
	}))
	require.Len(t, loaded, 3)
	assert.Equal(t, []string{"join/base", "join/base-loaded", "base-loaded/base"},
		[]string{loaded[0].Kind + "/" + loaded[0].OfKind, loaded[1].Kind + "/" + loaded[1].OfKind, loaded[2].Kind + "/" + loaded[2].OfKind})
	assert.Equal(t, 1.05, loaded[1].Value, "the join over the base under the same load")
	assert.Equal(t, "<= 1.2", loaded[1].Goal)
	assert.Equal(t, 1.2, got[0].Value)
	assert.Equal(t, KindInit, got[0].Kind)
	assert.Equal(t, "<= 1.2", got[0].Goal)
	assert.Equal(t, 4.0, got[1].Value)
	assert.Equal(t, KindBaselineInit, got[1].Kind)
	assert.Empty(t, Ratios(nil))
}
