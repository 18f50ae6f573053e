package timeline

import (
	"slices"
	"sort"
)

// Row is one segment over the runs of a kind.
type Row struct {
	Name  string `json:"name"`
	Group string `json:"group"`
	Clock string `json:"clock"`
	// N is the number of runs that measured it.
	N int `json:"n"`
	// Start and End are the medians of its ends.
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	// Median, Min and Max are of its length; Spread is Max - Min.
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Spread float64 `json:"spread"`
}

// ChainRow is one unit of a kind's critical chain over the runs whose
// chain had it: the medians of At (guest time from the kernel's start; -1
// when never printed) and Took.
type ChainRow struct {
	Unit  string  `json:"unit"`
	N     int     `json:"n"`
	Depth int     `json:"depth"`
	At    float64 `json:"at"`
	Took  float64 `json:"took"`
}

// Summary is one kind over its runs.
type Summary struct {
	Kind string `json:"kind"`
	// Runs is the number of timelines.
	Runs    int        `json:"runs"`
	Rows    []Row      `json:"segments"`
	ChainOf string     `json:"criticalChainOf,omitempty"`
	Chain   []ChainRow `json:"criticalChain,omitempty"`
}

// Row returns the row named name.
func (s Summary) Row(name string) (Row, bool) {
	for _, r := range s.Rows {
		if r.Name == name {
			return r, true
		}
	}
	return Row{}, false
}

// Aggregate summarises timelines per kind: for each segment the median,
// minimum and maximum of its length over the runs that measured it. The
// kinds come in Kinds' order (others after, by name); the rows by group,
// then by their median start and end.
func Aggregate(ts []Timeline) []Summary {
	byKind := map[string][]Timeline{}
	for _, t := range ts {
		byKind[t.Kind] = append(byKind[t.Kind], t)
	}
	kinds := slices.Clone(Kinds)
	var other []string
	for k := range byKind {
		if !slices.Contains(Kinds, k) {
			other = append(other, k)
		}
	}
	sort.Strings(other)
	var out []Summary
	for _, k := range append(kinds, other...) {
		if runs := byKind[k]; len(runs) > 0 {
			out = append(out, summarise(k, runs))
		}
	}
	return out
}

func summarise(kind string, runs []Timeline) Summary {
	s := Summary{Kind: kind, Runs: len(runs)}
	type acc struct {
		group, clock      string
		starts, ends, len []float64
	}
	rows := map[string]*acc{}
	for _, t := range runs {
		for _, seg := range t.Segments {
			a := rows[seg.Name]
			if a == nil {
				a = &acc{group: seg.Group, clock: seg.Clock}
				rows[seg.Name] = a
			}
			a.starts = append(a.starts, seg.Start)
			a.ends = append(a.ends, seg.End)
			a.len = append(a.len, seg.Seconds())
		}
	}
	for name, a := range rows {
		lo, hi := slices.Min(a.len), slices.Max(a.len)
		s.Rows = append(s.Rows, Row{
			Name: name, Group: a.group, Clock: a.clock, N: len(a.len),
			Start: round3(Median(a.starts)), End: round3(Median(a.ends)),
			Median: round3(Median(a.len)), Min: round3(lo), Max: round3(hi), Spread: round3(hi - lo),
		})
	}
	sort.Slice(s.Rows, func(i, j int) bool {
		a, b := s.Rows[i], s.Rows[j]
		if a.Group != b.Group {
			return groupOrder[a.Group] < groupOrder[b.Group]
		}
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		if a.End != b.End {
			return a.End < b.End
		}
		return a.Name < b.Name
	})
	s.ChainOf, s.Chain = chainRows(runs)
	return s
}

// chainRows gathers the critical chains of runs (of the unit most of them
// are of).
func chainRows(runs []Timeline) (string, []ChainRow) {
	count := map[string]int{}
	of := ""
	for _, t := range runs {
		if t.ChainOf != "" {
			count[t.ChainOf]++
			if count[t.ChainOf] > count[of] || (count[t.ChainOf] == count[of] && t.ChainOf < of) {
				of = t.ChainOf
			}
		}
	}
	if of == "" {
		return "", nil
	}
	type acc struct {
		depth, at, took []float64
	}
	units := map[string]*acc{}
	for _, t := range runs {
		if t.ChainOf != of {
			continue
		}
		for _, c := range t.Chain {
			a := units[c.Unit]
			if a == nil {
				a = &acc{}
				units[c.Unit] = a
			}
			a.depth = append(a.depth, float64(c.Depth))
			if c.At >= 0 {
				a.at = append(a.at, c.At)
			}
			a.took = append(a.took, c.Took)
		}
	}
	var out []ChainRow
	for u, a := range units {
		r := ChainRow{Unit: u, N: len(a.depth), Depth: int(Median(a.depth) + 0.5), At: -1, Took: round3(Median(a.took))}
		if len(a.at) > 0 {
			r.At = round3(Median(a.at))
		}
		out = append(out, r)
	}
	// The chain as systemd-analyze draws it: the unit first, then what it
	// waited for, latest first.
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Depth != b.Depth {
			return a.Depth < b.Depth
		}
		if a.At != b.At {
			return a.At > b.At
		}
		return a.Unit < b.Unit
	})
	return of, out
}

// Median is the middle value of xs, or the mean of the two middle values
// when there is an even number of them; 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Ratio compares the medians of two rows of two kinds.
type Ratio struct {
	Name string `json:"name"`
	// Kind and Row are the numerator's, OfKind and OfRow the
	// denominator's.
	Kind   string  `json:"kind"`
	Row    string  `json:"row"`
	OfKind string  `json:"ofKind"`
	OfRow  string  `json:"ofRow"`
	Value  float64 `json:"value"`
	// Goal is the bound for it, when it has one.
	Goal string `json:"goal,omitempty"`
}

// ratioDefs are the ratios the issue asks about.
var ratioDefs = []Ratio{
	{Name: "baked init, power-on to kubeadm start, over the plain base's power-on to multi-user.target", Kind: KindInit, Row: "total: power-on → kubeadm starts", OfKind: KindBase, OfRow: "total: power-on → multi-user.target", Goal: "<= 1.2"},
	{Name: "baked join, power-on to kubeadm start, over the plain base's power-on to multi-user.target", Kind: KindJoin, Row: "total: power-on → kubeadm starts", OfKind: KindBase, OfRow: "total: power-on → multi-user.target", Goal: "<= 1.2"},
	{Name: "baked join, power-on to kubeadm start, over the plain base's power-on to multi-user.target, both beside a settled control plane", Kind: KindJoin, Row: "total: power-on → kubeadm starts", OfKind: KindBaseLoaded, OfRow: "total: power-on → multi-user.target", Goal: "<= 1.2"},
	{Name: "the host's load: plain base beside a settled control plane over the plain base alone, power-on to multi-user.target", Kind: KindBaseLoaded, Row: "total: power-on → multi-user.target", OfKind: KindBase, OfRow: "total: power-on → multi-user.target"},
	{Name: "baked init, kernel to kubeadm start, over the plain base's kernel to multi-user.target (guest clocks)", Kind: KindInit, Row: "total: kernel → kubeadm starts", OfKind: KindBase, OfRow: "total: kernel → multi-user.target"},
	{Name: "installed at boot over baked: init, power-on to kubeadm success", Kind: KindBaselineInit, Row: "total: power-on → kubeadm success", OfKind: KindInit, OfRow: "total: power-on → kubeadm success"},
	{Name: "installed at boot over baked: join, power-on to Node Ready", Kind: KindBaselineJoin, Row: "total: power-on → Node Ready", OfKind: KindJoin, OfRow: "total: power-on → Node Ready"},
	{Name: "baked over compared (after over before): init, power-on to kubeadm success", Kind: KindInit, Row: "total: power-on → kubeadm success", OfKind: KindBeforeInit, OfRow: "total: power-on → kubeadm success", Goal: "<= 0.75"},
	{Name: "baked over compared (after over before): init, power-on to kubeadm start", Kind: KindInit, Row: "total: power-on → kubeadm starts", OfKind: KindBeforeInit, OfRow: "total: power-on → kubeadm starts"},
	{Name: "baked over compared (after over before): init, power-on to Node Ready", Kind: KindInit, Row: "total: power-on → Node Ready", OfKind: KindBeforeInit, OfRow: "total: power-on → Node Ready"},
	{Name: "baked over compared (after over before): join, power-on to kubeadm start", Kind: KindJoin, Row: "total: power-on → kubeadm starts", OfKind: KindBeforeJoin, OfRow: "total: power-on → kubeadm starts"},
	{Name: "baked over compared (after over before): join, power-on to Node Ready", Kind: KindJoin, Row: "total: power-on → Node Ready", OfKind: KindBeforeJoin, OfRow: "total: power-on → Node Ready"},
}

// Change is one segment's median in the compared image (Before) and the
// baked one (After).
type Change struct {
	Name   string  `json:"name"`
	Clock  string  `json:"clock"`
	Before float64 `json:"before"`
	After  float64 `json:"after"`
}

// Changes lists, for the segments both summaries have, the median length
// in before and in after, in after's row order; segments only one has
// are listed with -1 for the other.
func Changes(before, after Summary) []Change {
	var out []Change
	seen := map[string]bool{}
	for _, a := range after.Rows {
		c := Change{Name: a.Name, Clock: a.Clock, Before: -1, After: a.Median}
		if b, ok := before.Row(a.Name); ok {
			c.Before = b.Median
		}
		seen[a.Name] = true
		out = append(out, c)
	}
	for _, b := range before.Rows {
		if !seen[b.Name] {
			out = append(out, Change{Name: b.Name, Clock: b.Clock, Before: b.Median, After: -1})
		}
	}
	return out
}

// Ratios are the ratios of medians the issue asks about, those whose
// rows both summaries have.
func Ratios(sums []Summary) []Ratio {
	byKind := map[string]Summary{}
	for _, s := range sums {
		byKind[s.Kind] = s
	}
	var out []Ratio
	for _, d := range ratioDefs {
		a, okA := byKind[d.Kind].Row(d.Row)
		b, okB := byKind[d.OfKind].Row(d.OfRow)
		if !okA || !okB || b.Median <= 0 {
			continue
		}
		d.Value = float64(int64(a.Median/b.Median*100+0.5)) / 100
		out = append(out, d)
	}
	return out
}
