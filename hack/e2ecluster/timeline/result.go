package timeline

import (
	"time"

	"github.com/kubebake/kubebake/internal/atomicfile"
)

// Schema names the result file's format.
const Schema = "kubebake.dev/bench-boot/v1"

// Clocks says what each clock is, for the table and the result file.
var Clocks = map[string]string{
	ClockHost:  "this machine's monotonic clock, seconds from QEMU's start (power-on); read from the serial console every 0.1 s",
	ClockGuest: "the node's CLOCK_MONOTONIC, seconds from its kernel's start (printk, systemd, the journal, /proc/uptime)",
	ClockMixed: "the host's estimate of the kernel's start (power-on to the kernel's clock at zero) plus a guest time",
}

// Result is make bench-boot's machine-readable result
// (out/bench-boot/result.json).
type Result struct {
	Schema     string    `json:"schema"`
	StartedAt  time.Time `json:"startedAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// Complete is false while rounds are still to come (the file is
	// rewritten after each run).
	Complete bool `json:"complete"`
	// Rounds asked for; Accel the accelerator (kvm or tcg).
	Rounds int    `json:"rounds"`
	Accel  string `json:"accel,omitempty"`
	// Images are the images booted, by role (baked, base).
	Images map[string]string `json:"images,omitempty"`
	// Order is the order of the kinds in each round, as run.
	Order  [][]string        `json:"order,omitempty"`
	Clocks map[string]string `json:"clocks"`
	// Summary and Ratios are over the runs that measured their boot.
	Summary []Summary `json:"summary"`
	Ratios  []Ratio   `json:"ratios"`
	// Runs is every boot, failed ones too.
	Runs []Run `json:"runs"`
}

// Run is one node's boot in one round.
type Run struct {
	Round int    `json:"round"`
	Kind  string `json:"kind"`
	Node  string `json:"node"`
	// OK is whether the boot did what it should (the node joined and was
	// Ready, or the plain base finished booting); Error says what failed.
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Host and Guest are the raw figures, Timeline what Build made.
	Host     HostMarks `json:"host"`
	Guest    *Guest    `json:"guest,omitempty"`
	Timeline *Timeline `json:"timeline,omitempty"`
}

// NewResult starts a result.
func NewResult(rounds int, started time.Time) *Result {
	return &Result{Schema: Schema, StartedAt: started.UTC(), Rounds: rounds, Clocks: Clocks, Summary: []Summary{}, Ratios: []Ratio{}, Runs: []Run{}}
}

// Add records a run and summarises again over the runs that are OK.
func (r *Result) Add(run Run) {
	r.Runs = append(r.Runs, run)
	var ts []Timeline
	for _, x := range r.Runs {
		if x.OK && x.Timeline != nil {
			ts = append(ts, *x.Timeline)
		}
	}
	r.Summary = Aggregate(ts)
	if r.Summary == nil {
		r.Summary = []Summary{}
	}
	r.Ratios = Ratios(r.Summary)
	if r.Ratios == nil {
		r.Ratios = []Ratio{}
	}
}

// Write writes the result to path atomically (indented JSON).
func (r *Result) Write(path string) error { return atomicfile.WriteJSON(path, r) }
