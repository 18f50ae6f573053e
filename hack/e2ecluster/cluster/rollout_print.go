package cluster

import (
	"fmt"
	"io"
	"strings"
)

// Print writes each node's result, the rollout's steps, every change in
// availability, the figures (FIGURE lines) and the verdict.
func (r *RolloutResult) Print(w io.Writer, o RolloutOptions) {
	all := &Result{}
	for _, n := range []*NodeResult{r.ControlPlane, r.Old, r.New, r.Skew, r.Baseline} {
		if n != nil {
			all.Nodes = append(all.Nodes, *n)
		}
	}
	all.Print(w)
	if r.ControlPlane != nil {
		rep := r.ControlPlane.Report
		fmt.Fprintf(w, "\n== the rollout, seen from %s (guest uptime in seconds)\n", r.ControlPlane.Node.Name)
		for _, s := range rep.Rollout {
			fmt.Fprintf(w, "  %-18s %s\n", s.Step, strings.Join(s.Args, " "))
		}
		fmt.Fprintln(w, "  workload pods Ready and not terminating, at each change:")
		for _, a := range rep.Avail {
			fmt.Fprintf(w, "    %9.1f  %d\n", a.Uptime, a.Ready)
		}
	}
	fig := func(name, format string, args ...any) {
		fmt.Fprintf(w, "FIGURE %-52s %s\n", name, fmt.Sprintf(format, args...))
	}
	fmt.Fprintln(w)
	if r.Old != nil {
		fig("rollout: old worker (A) power-on to firstboot result (s)", "%s", Seconds(r.Old.PowerOnToResult))
	}
	if r.NewPowerOnToReady > 0 {
		fig("rollout: replacement (B) power-on to Node Ready (s)", "%s", Seconds(r.NewPowerOnToReady))
	}
	if r.Drain > 0 {
		fig("rollout: drain of the old worker (s)", "%.0f", r.Drain)
	}
	if r.PowerOff > 0 {
		fig("rollout: graceful power-off of the old worker (s)", "%s", Seconds(r.PowerOff))
	}
	if r.Replacement > 0 {
		fig("rollout: whole replacement, call to old Node deleted (s)", "%s", Seconds(r.Replacement))
	}
	if r.Lowest >= 0 {
		fig("rollout: lowest Ready replicas seen (of, budget)", "%d (of %d, minAvailable %d)", r.Lowest, o.Workload.Replicas, o.Workload.MinAvailable)
	}
	if r.Skew != nil {
		fig("rollout: skewed worker power-on to its failure (s)", "%s (reason %s)", Seconds(r.Skew.PowerOnToResult), orNone(r.SkewReason))
	}
	if r.BaselinePowerOnToReady > 0 {
		fig("rollout: replacement installed at boot, power-on to Ready (s)", "%s", Seconds(r.BaselinePowerOnToReady))
		if r.NewPowerOnToReady > 0 {
			fig("rollout: speed-up, baked vs. installed at boot (x)", "%.2f", r.BaselinePowerOnToReady.Seconds()/r.NewPowerOnToReady.Seconds())
		}
	}
	fmt.Fprintln(w)
	if r.Pass() {
		fmt.Fprintln(w, "PASS rollout")
		return
	}
	for _, f := range r.Failures {
		fmt.Fprintln(w, "FAIL rollout: "+f)
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
