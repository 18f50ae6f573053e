package cluster

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kubebake/kubebake/firstboot"
	"github.com/kubebake/kubebake/hack/e2ecluster/timeline"
)

// Report is what a node's report script wrote.
type Report struct {
	// Status is kubebake-firstboot's status.json.
	Status *firstboot.Status
	// StatusError says why Status could not be read.
	StatusError string
	// Uptimes are the guest's uptimes (seconds since its kernel started)
	// when firstboot finished and, on the init node, when the cluster was
	// ready.
	Uptimes []float64
	// ReadyUptime is the guest's uptime when a joined node saw its own
	// Node Ready (0 when it did not).
	ReadyUptime float64
	// Facts is a joined node's FACTS line: what tells image B from A.
	Facts string
	// Rollout are the init node's ROLLOUT lines (e2e-rollout), and Avail
	// the changes it saw in the workload's Ready pods.
	Rollout []RolloutStep
	Avail   []Avail
	// RolloutDone, RolloutPass and RolloutDetail are its ROLLOUT-RESULT.
	RolloutDone, RolloutPass bool
	RolloutDetail            string
	// InstallStart and InstallDone are the guest's uptimes around the
	// install at boot of a node that is not baked (0 when none).
	InstallStart, InstallDone float64
	// Progress, Nodes, Pods and Log are the lines of each kind.
	Progress, Nodes, Pods, Log []string
	// Pass and Detail are the RESULT line.
	Pass   bool
	Detail string
	// Done is whether a RESULT line came.
	Done bool
}

// RolloutStep is one ROLLOUT line: the step and its words.
type RolloutStep struct {
	Step string
	Args []string
}

// Avail is one AVAIL line: the guest's uptime and the number of the
// workload's pods that were Ready and not terminating from then on.
type Avail struct {
	Uptime float64
	Ready  int
}

// Parse reads the "E2E NODE KIND TEXT" lines of node from a report log.
func Parse(b []byte, node string) Report {
	var r Report
	timeline.EachLine(b, "E2E "+node+" ", r.line)
	return r
}

// line takes one report line.
func (r *Report) line(kind, text string) {
	switch kind {
	case "STATUS":
		var s firstboot.Status
		if err := json.Unmarshal([]byte(text), &s); err != nil {
			r.StatusError = err.Error()
		} else {
			r.Status = &s
		}
	case "UPTIME":
		if v, err := strconv.ParseFloat(strings.TrimSpace(text), 64); err == nil {
			r.Uptimes = append(r.Uptimes, v)
		}
	case "INSTALL-START", "INSTALL-DONE":
		if v, err := strconv.ParseFloat(strings.TrimSpace(text), 64); err == nil {
			if kind == "INSTALL-START" {
				r.InstallStart = v
			} else {
				r.InstallDone = v
			}
		}
	case "READY":
		r.ReadyUptime, _ = strconv.ParseFloat(strings.TrimSpace(text), 64)
	case "FACTS":
		r.Facts = text
	case "ROLLOUT":
		f := strings.Fields(text)
		if len(f) > 0 {
			r.Rollout = append(r.Rollout, RolloutStep{Step: f[0], Args: f[1:]})
		}
	case "AVAIL":
		var a Avail
		if _, err := fmt.Sscanf(text, "%g %d", &a.Uptime, &a.Ready); err == nil {
			r.Avail = append(r.Avail, a)
		}
	case "ROLLOUT-RESULT":
		r.RolloutDone = true
		verdict, detail, _ := strings.Cut(text, " ")
		r.RolloutPass, r.RolloutDetail = verdict == "PASS", detail
	case "PROGRESS":
		r.Progress = append(r.Progress, text)
	case "NODES":
		r.Nodes = append(r.Nodes, text)
	case "PODS":
		r.Pods = append(r.Pods, text)
	case "LOG":
		r.Log = append(r.Log, text)
	case "RESULT":
		r.Done = true
		verdict, detail, _ := strings.Cut(text, " ")
		r.Pass, r.Detail = verdict == "PASS", detail
	}
}

// PowerOnToKubeadm is the host's time from starting the node's machine to
// kubeadm's success: the time to firstboot's result less the phases
// status.json recorded after the kubeadm phase (the CNI configuration and
// hooks). It is false unless the node succeeded and kubeadm ran.
func (n NodeResult) PowerOnToKubeadm() (time.Duration, bool) {
	s := n.Report.Status
	if !n.Success || s == nil || s.Result != firstboot.ResultSuccess {
		return 0, false
	}
	after, seen := 0.0, false
	for _, p := range s.Phases {
		switch {
		case seen:
			after += p.Seconds
		case p.Name == "kubeadm":
			if p.Result != firstboot.ResultSuccess {
				return 0, false
			}
			seen = true
		}
	}
	if !seen {
		return 0, false
	}
	return n.PowerOnToResult - time.Duration(after*float64(time.Second)), true
}

// Print writes the figures and what the cluster showed.
func (res *Result) Print(w io.Writer) {
	fmt.Fprintln(w, "\n== kubebake-firstboot, per node")
	for _, n := range res.Nodes {
		fmt.Fprintf(w, "%s (%s, %s): power-on to firstboot result %.0fs (host clock): %s\n",
			n.Node.Name, n.Node.Role, n.Node.IP, n.PowerOnToResult.Seconds(), n.FirstbootLine)
		if n.PowerCutAfter > 0 {
			fmt.Fprintf(w, "%s (%s, %s): power cut %.0fs after power-on, at %q; power cut to firstboot result %.0fs\n",
				n.Node.Name, n.Node.Role, n.Node.IP, n.PowerCutAfter.Seconds(), n.PowerCutLine, (n.PowerOnToResult - n.PowerCutAfter).Seconds())
		}
		if d, ok := n.PowerOnToKubeadm(); ok {
			fmt.Fprintf(w, "%s (%s, %s): power-on to kubeadm success %.0fs (host clock; the result less the phases after kubeadm)\n",
				n.Node.Name, n.Node.Role, n.Node.IP, d.Seconds())
		}
		if r := n.Report; r.InstallDone > 0 {
			fmt.Fprintf(w, "  install at boot: from guest uptime %.1fs to %.1fs (%.1fs)\n", r.InstallStart, r.InstallDone, r.InstallDone-r.InstallStart)
		}
		if len(n.Report.Uptimes) > 0 {
			fmt.Fprintf(w, "  guest uptime at the result: %.1fs\n", n.Report.Uptimes[0])
		}
		s := n.Report.Status
		if s == nil {
			fmt.Fprintf(w, "  no status.json reported %s\n", n.Report.StatusError)
			continue
		}
		fmt.Fprintf(w, "  status.json: result %s, attempt %d, %.1fs from firstboot's start", s.Result, s.Attempt, s.DurationSeconds)
		if s.Error != "" {
			fmt.Fprintf(w, ", error: %s", s.Error)
		}
		fmt.Fprintln(w)
		for _, p := range s.Phases {
			fmt.Fprintf(w, "    %-14s %8.1fs  %s\n", p.Name, p.Seconds, p.Result)
		}
		if s.Kubeadm != nil {
			fmt.Fprintf(w, "    kubeadm: %s, exit code %d, %d attempt(s)\n", s.Kubeadm.Command, s.Kubeadm.ExitCode, s.Kubeadm.Attempts)
		}
	}
	for _, n := range res.Nodes {
		r := n.Report
		if len(r.Progress) == 0 && len(r.Nodes) == 0 && len(r.Log) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n== seen from %s\n", n.Node.Name)
		for _, l := range r.Progress {
			fmt.Fprintln(w, "  progress: "+l)
		}
		if len(r.Uptimes) > 1 {
			fmt.Fprintf(w, "  cluster checked at guest uptime %.1fs (%.1fs after firstboot's result)\n", r.Uptimes[1], r.Uptimes[1]-r.Uptimes[0])
		}
		for _, group := range [][]string{r.Nodes, r.Pods, r.Log} {
			for _, l := range group {
				fmt.Fprintln(w, "  "+l)
			}
		}
	}
	fmt.Fprintln(w)
	for _, n := range res.Nodes {
		verdict := "FAIL"
		if n.Success && n.Report.Pass {
			verdict = "PASS"
		}
		detail := n.Report.Detail
		if !n.Report.Done {
			detail = "no report"
		}
		fmt.Fprintf(w, "%s %s: %s\n", verdict, n.Node.Name, detail)
	}
}

// Seconds formats a duration in whole seconds, for figures.
func Seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 0, 64) }
