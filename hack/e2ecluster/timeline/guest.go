package timeline

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/kubebake/kubebake/firstboot"
)

// LinePrefix starts every line the guest's timeline script writes:
// "KUBEBAKE-TIMELINE <node> <KIND> <text>".
const LinePrefix = "KUBEBAKE-TIMELINE "

// Guest is what a node's timeline script reported; times are seconds of
// the guest's CLOCK_MONOTONIC (from its kernel's start).
type Guest struct {
	// Mode is the script's: init, join or plain.
	Mode string `json:"mode,omitempty"`
	// Manager holds systemd's own timestamps (UserspaceTimestampMonotonic:
	// when systemd started in the real root, ...), zeros left out.
	Manager map[string]float64 `json:"manager,omitempty"`
	// Units holds the units' timestamps (Units).
	Units map[string]Unit `json:"units,omitempty"`
	// Analyze is systemd-analyze time.
	Analyze Analyze `json:"analyze"`
	// Chain is systemd-analyze critical-chain: At from systemd's start, as
	// the tool prints it (-1: none).
	Chain []ChainUnit `json:"chain,omitempty"`
	// Blame is the head of systemd-analyze blame.
	Blame []BlameUnit `json:"blame,omitempty"`
	// Journal is kubebake-firstboot's journal (journalctl -o short-monotonic).
	Journal []JournalLine `json:"-"`
	// RunInit is the kernel's "Run /init as init process" (printk time).
	RunInit float64 `json:"runInit,omitempty"`
	// Status is firstboot's status.json.
	Status *firstboot.Status `json:"-"`
	// FirstbootResult is when the script saw firstboot's result marker.
	FirstbootResult float64 `json:"firstbootResult,omitempty"`
	// Ready is when kubectl saw the node's Ready condition True;
	// ReadyError why it did not.
	Ready      float64 `json:"ready,omitempty"`
	ReadyError string  `json:"readyError,omitempty"`
	// BootState is systemctl is-system-running once the boot finished (or
	// the wait ran out), and BootFinished when it said so.
	BootState    string  `json:"bootState,omitempty"`
	BootFinished float64 `json:"bootFinished,omitempty"`
	// Containers are the runtime's containers at the script's end.
	Containers []Container `json:"containers,omitempty"`
	// Done is whether the script's last line came.
	Done bool `json:"done"`
	// Errors are lines that did not parse.
	Errors []string `json:"errors,omitempty"`
}

// Unit is one unit's load state and timestamps (seconds).
type Unit struct {
	Load  string             `json:"load,omitempty"`
	Times map[string]float64 `json:"times,omitempty"`
}

// Analyze is systemd-analyze time: the boot's components ("firmware",
// "loader", "kernel", "initrd", "userspace") and the default target's
// time in userspace.
type Analyze struct {
	Components    map[string]float64 `json:"components,omitempty"`
	Total         float64            `json:"total,omitempty"`
	Target        string             `json:"target,omitempty"`
	TargetReached float64            `json:"targetReachedInUserspace,omitempty"`
}

// ChainUnit is one line of a critical chain: the unit, its depth in the
// tree, when it became active or started activating (At, -1 when not
// printed) and how long it took to start (Took).
type ChainUnit struct {
	Unit  string  `json:"unit"`
	Depth int     `json:"depth"`
	At    float64 `json:"at"`
	Took  float64 `json:"took,omitempty"`
}

// BlameUnit is one line of systemd-analyze blame.
type BlameUnit struct {
	Unit    string  `json:"unit"`
	Seconds float64 `json:"seconds"`
}

// JournalLine is one line of journalctl -o short-monotonic.
type JournalLine struct {
	At      float64
	Host    string
	Ident   string
	PID     int
	Message string
}

// ParseGuest reads node's KUBEBAKE-TIMELINE lines from a serial log (other
// lines, and other nodes', are skipped).
func ParseGuest(b []byte, node string) Guest {
	g := Guest{Manager: map[string]float64{}, Units: map[string]Unit{}}
	EachLine(b, LinePrefix+node+" ", func(kind, text string) {
		if err := g.line(kind, text); err != nil {
			g.Errors = append(g.Errors, fmt.Sprintf("%s line %q: %v", kind, text, err))
		}
	})
	return g
}

func (g *Guest) line(kind, text string) error {
	switch kind {
	case "START":
		g.Mode, _, _ = strings.Cut(text, " ")
	case "FIRSTBOOT":
		return parseFloat(text, &g.FirstbootResult)
	case "STATUS":
		var s firstboot.Status
		if err := json.Unmarshal([]byte(text), &s); err != nil {
			return err
		}
		g.Status = &s
	case "READY":
		return parseFloat(text, &g.Ready)
	case "READY-FAILED":
		g.ReadyError = text
	case "BOOT":
		at, state, _ := strings.Cut(text, " ")
		g.BootState = state
		return parseFloat(at, &g.BootFinished)
	case "MANAGER":
		k, v, err := property(text)
		if err != nil {
			return err
		}
		if us, err := strconv.ParseUint(v, 10, 64); err == nil && us > 0 {
			g.Manager[k] = usec(us)
		}
	case "UNIT":
		name, prop, _ := strings.Cut(text, " ")
		k, v, err := property(prop)
		if err != nil {
			return err
		}
		u := g.Units[name]
		if u.Times == nil {
			u.Times = map[string]float64{}
		}
		if k == "LoadState" {
			u.Load = v
		} else if us, err := strconv.ParseUint(v, 10, 64); err == nil && us > 0 {
			u.Times[k] = usec(us)
		}
		g.Units[name] = u
	case "ANALYZE":
		return g.Analyze.parse(text)
	case "CHAIN":
		c, ok, err := ParseChainLine(text)
		if ok {
			g.Chain = append(g.Chain, c)
		}
		return err
	case "BLAME":
		if strings.TrimSpace(text) == "" {
			return nil
		}
		u, err := ParseBlameLine(text)
		if err == nil {
			g.Blame = append(g.Blame, u)
		}
		return err
	case "KMSG":
		if ts, msg, ok := printk(text); ok && strings.HasPrefix(msg, "Run ") && strings.HasSuffix(msg, " as init process") && g.RunInit == 0 {
			g.RunInit = ts
		}
	case "JOURNAL":
		if l, ok := ParseJournalLine(text); ok {
			g.Journal = append(g.Journal, l)
		}
	case "CONTAINERS":
		cs, err := parseContainers(text)
		if err != nil {
			return err
		}
		g.Containers = cs
	case "DONE":
		g.Done = true
	}
	return nil
}

func parseFloat(s string, v *float64) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return err
	}
	*v = f
	return nil
}

// property splits systemctl show's "Name=value".
func property(s string) (string, string, error) {
	k, v, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("not Name=value")
	}
	return k, v, nil
}

func usec(us uint64) float64 { return float64(us) / 1e6 }

// parse reads one line of systemd-analyze time:
//
//	Startup finished in 1.2s (firmware) + 500ms (loader) + 5.250s (kernel) + 1min 2.5s (userspace) = 1min 9.450s
//	multi-user.target reached after 1min 2.400s in userspace.
func (a *Analyze) parse(line string) error {
	line = strings.TrimSpace(line)
	if rest, ok := strings.CutPrefix(line, "Startup finished in "); ok {
		parts, total, _ := strings.Cut(rest, " = ")
		t, err := ParseTimespan(total)
		if err != nil {
			return fmt.Errorf("total: %w", err)
		}
		a.Total = t
		a.Components = map[string]float64{}
		for _, p := range strings.Split(parts, " + ") {
			p = strings.TrimSpace(p)
			open := strings.LastIndex(p, " (")
			if open < 0 || !strings.HasSuffix(p, ")") {
				return fmt.Errorf("component %q: want TIME (NAME)", p)
			}
			v, err := ParseTimespan(p[:open])
			if err != nil {
				return fmt.Errorf("component %q: %w", p, err)
			}
			a.Components[p[open+2:len(p)-1]] = v
		}
		return nil
	}
	if m := reachedRE.FindStringSubmatch(line); m != nil {
		v, err := ParseTimespan(m[2])
		if err != nil {
			return err
		}
		a.Target, a.TargetReached = m[1], v
	}
	// Other lines (a note that the boot has not finished, ...) say
	// nothing to measure.
	return nil
}

var reachedRE = regexp.MustCompile(`^(\S+) reached after (.+?) in userspace\.?$`)

// chainUnitRE is a critical-chain line: the tree's drawing (Unicode, or
// ASCII in the C locale: two columns a level, then the branch), the unit,
// and maybe "@TIME" (from systemd's start) and "+TIME" (to start).
var chainUnitRE = regexp.MustCompile(`^((?:│ |\| |  )*)(└─|├─|` + "`" + `-|\|-)?(\S+?\.(?:service|target|socket|mount|device|path|timer|slice|scope|swap|automount))(?:\s+@([^+]+?))?(?:\s+\+(.+?))?\s*$`)

// ParseChainLine reads one line of systemd-analyze critical-chain; ok is
// false for its header lines.
func ParseChainLine(line string) (c ChainUnit, ok bool, err error) {
	m := chainUnitRE.FindStringSubmatch(line)
	if m == nil {
		return ChainUnit{}, false, nil
	}
	c = ChainUnit{Unit: m[3], At: -1}
	if m[2] != "" {
		c.Depth = len([]rune(m[1]))/2 + 1
	}
	if m[4] != "" {
		if c.At, err = ParseTimespan(m[4]); err != nil {
			return c, false, err
		}
	}
	if m[5] != "" {
		if c.Took, err = ParseTimespan(m[5]); err != nil {
			return c, false, err
		}
	}
	return c, true, nil
}

// ParseBlameLine reads one line of systemd-analyze blame: "1min 2.3s unit".
func ParseBlameLine(line string) (BlameUnit, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return BlameUnit{}, fmt.Errorf("want TIME UNIT")
	}
	v, err := ParseTimespan(strings.Join(f[:len(f)-1], " "))
	if err != nil {
		return BlameUnit{}, err
	}
	return BlameUnit{Unit: f[len(f)-1], Seconds: v}, nil
}

// journalRE is a journalctl -o short-monotonic line:
// "[   74.016858] cp1 kubebake-firstboot[536]: message".
var journalRE = regexp.MustCompile(`^\[\s*(\d+\.\d+)\] (\S+) ([^\[\]:\s]+)(?:\[(\d+)\])?: ?(.*)$`)

// ParseJournalLine reads one line of journalctl -o short-monotonic; ok is
// false for its other lines ("-- No entries --", "-- Boot ... --").
func ParseJournalLine(line string) (JournalLine, bool) {
	m := journalRE.FindStringSubmatch(line)
	if m == nil {
		return JournalLine{}, false
	}
	at, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return JournalLine{}, false
	}
	pid, _ := strconv.Atoi(m[4])
	return JournalLine{At: at, Host: m[2], Ident: m[3], PID: pid, Message: m[5]}, true
}

// timespanRE is one part of a systemd time span ("1min", "2.345s").
var timespanRE = regexp.MustCompile(`^(\d+(?:\.\d+)?)(y|month|w|d|h|min|ms|us|μs|s)$`)

var timespanUnit = map[string]float64{
	"y": 31557600, "month": 2629800, "w": 604800, "d": 86400, "h": 3600, "min": 60,
	"s": 1, "ms": 1e-3, "us": 1e-6, "μs": 1e-6,
}

// ParseTimespan reads a time span as systemd formats it ("1min 2.345s",
// "345ms", "2h 1min") into seconds.
func ParseTimespan(s string) (float64, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, fmt.Errorf("empty time span")
	}
	total := 0.0
	for _, p := range f {
		m := timespanRE.FindStringSubmatch(p)
		if m == nil {
			return 0, fmt.Errorf("time span %q: %q is not NUMBER UNIT", s, p)
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0, err
		}
		total += v * timespanUnit[m[2]]
	}
	return math.Round(total*1e6) / 1e6, nil
}
