package timeline

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Print writes the result as tables: per kind, each segment's clock, the
// runs that measured it, its median start and end, and the median,
// minimum, maximum and spread of its length; then the critical chain, the
// ratios, and the runs that failed or missed something.
func Print(w io.Writer, r *Result) {
	fmt.Fprintf(w, "== bench-boot: %d round(s), accelerator %s\n", r.Rounds, orNone(r.Accel))
	for i, o := range r.Order {
		fmt.Fprintf(w, "round %d: %s\n", i+1, strings.Join(o, ", "))
	}
	fmt.Fprintln(w, "clocks (the clock column says which one each row is on):")
	for _, c := range []string{ClockHost, ClockGuest, ClockMixed} {
		fmt.Fprintf(w, "  %-10s %s\n", c, r.Clocks[c])
	}
	fmt.Fprintln(w, "seconds; start and end are medians, on the row's clock; median, min, max and spread are of the row's length")
	for _, s := range r.Summary {
		printSummary(w, s)
	}
	byKind := map[string]Summary{}
	for _, s := range r.Summary {
		byKind[s.Kind] = s
	}
	for _, pair := range [][2]string{{KindBeforeInit, KindInit}, {KindBeforeJoin, KindJoin}} {
		before, okB := byKind[pair[0]]
		after, okA := byKind[pair[1]]
		if okB && okA {
			printChanges(w, pair[1], before, after)
		}
	}
	if len(r.Ratios) > 0 {
		fmt.Fprintln(w, "\n== ratios of medians")
		for _, q := range r.Ratios {
			goal := ""
			if q.Goal != "" {
				goal = " (goal " + q.Goal + ")"
			}
			fmt.Fprintf(w, "  %5.2f  %s%s\n", q.Value, q.Name, goal)
		}
	}
	var failed, missing []string
	for _, run := range r.Runs {
		who := fmt.Sprintf("round %d %s %s", run.Round, run.Kind, run.Node)
		if !run.OK {
			failed = append(failed, who+": "+run.Error)
		}
		if run.Timeline != nil {
			for _, m := range run.Timeline.Missing {
				missing = append(missing, who+": "+m)
			}
		}
	}
	if len(failed) > 0 {
		fmt.Fprintln(w, "\n== runs that failed (left out of the figures)")
		for _, f := range failed {
			fmt.Fprintln(w, "  "+f)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintln(w, "\n== not measured")
		for _, m := range missing {
			fmt.Fprintln(w, "  "+m)
		}
	}
}

func printSummary(w io.Writer, s Summary) {
	title := KindTitle[s.Kind]
	if title == "" {
		title = s.Kind
	}
	fmt.Fprintf(w, "\n== %s: %s; %d run(s)\n", s.Kind, title, s.Runs)
	width := len("segment")
	for _, r := range s.Rows {
		width = max(width, utf8.RuneCountInString(r.Name))
	}
	fmt.Fprintf(w, "  %s  %-10s %2s %8s %8s %8s %8s %8s %7s\n", pad("segment", width), "clock", "n", "start", "end", "median", "min", "max", "spread")
	group := ""
	for _, r := range s.Rows {
		if r.Group != group {
			group = r.Group
			fmt.Fprintf(w, "  -- %s\n", group)
		}
		fmt.Fprintf(w, "  %s  %-10s %2d %8.1f %8.1f %8.1f %8.1f %8.1f %7.1f\n", pad(r.Name, width), r.Clock, r.N, r.Start, r.End, r.Median, r.Min, r.Max, r.Spread)
	}
	if len(s.Chain) == 0 {
		return
	}
	fmt.Fprintf(w, "  critical chain of %s (guest clock: @ when the unit became active or started, from the kernel's start; + how long it took to start; medians; n runs):\n", s.ChainOf)
	for _, c := range s.Chain {
		at := "@-"
		if c.At >= 0 {
			at = fmt.Sprintf("@%.1fs", c.At)
		}
		took := ""
		if c.Took > 0 {
			took = fmt.Sprintf(" +%.1fs", c.Took)
		}
		fmt.Fprintf(w, "    %s%s %s%s  (n %d)\n", strings.Repeat("  ", c.Depth), c.Unit, at, took, c.N)
	}
}

// printChanges writes each segment's median before (the compared image)
// and after (the baked one), and the difference.
func printChanges(w io.Writer, kind string, before, after Summary) {
	fmt.Fprintf(w, "\n== %s: before (compared image, %d run(s)) → after (baked image, %d run(s)): median length of each segment, seconds\n", kind, before.Runs, after.Runs)
	cs := Changes(before, after)
	width := len("segment")
	for _, c := range cs {
		width = max(width, utf8.RuneCountInString(c.Name))
	}
	fmt.Fprintf(w, "  %s  %-10s %8s %8s %8s\n", pad("segment", width), "clock", "before", "after", "change")
	num := func(v float64) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", v)
	}
	for _, c := range cs {
		change := "-"
		if c.Before >= 0 && c.After >= 0 {
			change = fmt.Sprintf("%+.1f", c.After-c.Before)
		}
		fmt.Fprintf(w, "  %s  %-10s %8s %8s %8s\n", pad(c.Name, width), c.Clock, num(c.Before), num(c.After), change)
	}
}

// pad pads s with spaces to width runes.
func pad(s string, width int) string {
	return s + strings.Repeat(" ", max(0, width-utf8.RuneCountInString(s)))
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
