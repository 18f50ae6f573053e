package timeline

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// HostMarks are what the host saw on a machine's serial console, in
// seconds of its own clock from QEMU's start; zero when not seen.
type HostMarks struct {
	// FirstOutput is the console's first byte (the firmware's).
	FirstOutput float64 `json:"firstOutput,omitempty"`
	// BootManager is OVMF's "BdsDxe: starting Boot...": the firmware
	// starts the boot entry (the UKI).
	BootManager float64 `json:"bootManager,omitempty"`
	// EFIStub is the kernel's EFI stub's first line.
	EFIStub float64 `json:"efiStub,omitempty"`
	// FirstKernelLine is the first printk line ("[    0.000000] Linux
	// version ..."): the kernel's console is up.
	FirstKernelLine float64 `json:"firstKernelLine,omitempty"`
	// KernelStart estimates when the kernel's clock started: the least,
	// over the printk lines of the kernel and the initrd, of the host time
	// a line arrived less its printk time. A line arrives after it is
	// printed, so each is an upper bound; the console is read every
	// PollInterval.
	KernelStart float64 `json:"kernelStart,omitempty"`
	// RunInit is the printk time (guest clock) of "Run /init as init
	// process" as the console showed it.
	RunInit float64 `json:"runInitPrintk,omitempty"`
}

// PollInterval is how often the host reads a machine's console for
// SerialClock: the bound on the error of its marks.
const PollInterval = 100 * time.Millisecond

// SerialClock timestamps a serial console as it arrives: Feed it what
// each read returned with the host's time since QEMU's start, then read
// Marks. It is not safe for concurrent use.
type SerialClock struct {
	marks   HostMarks
	partial []byte
	// initSeen ends the kernel start's estimate: after the initrd,
	// console lines come through journald, later than printk's.
	initSeen bool
}

// Feed takes what was read from the console at host time at.
func (c *SerialClock) Feed(at time.Duration, data []byte) {
	if len(data) == 0 {
		return
	}
	s := at.Seconds()
	if c.marks.FirstOutput == 0 {
		c.marks.FirstOutput = round3(max(s, 0.001))
	}
	c.partial = append(c.partial, data...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		c.line(s, string(c.partial[:i]))
		c.partial = c.partial[i+1:]
	}
}

// Marks returns what was seen so far.
func (c *SerialClock) Marks() HostMarks { return c.marks }

// ansiRE is a terminal escape sequence (OVMF clears the screen, systemd
// colours its status).
var ansiRE = regexp.MustCompile("\x1b(?:\\[[0-9;?=!]*[A-Za-z]|\\][^\x07]*\x07|[()][A-Za-z0-9])")

func (c *SerialClock) line(at float64, raw string) {
	l := ansiRE.ReplaceAllString(strings.TrimRight(raw, "\r"), "")
	m := &c.marks
	if m.BootManager == 0 && strings.Contains(l, "BdsDxe: starting") {
		m.BootManager = round3(at)
	}
	if m.EFIStub == 0 && strings.Contains(l, "EFI stub: ") {
		m.EFIStub = round3(at)
	}
	ts, msg, ok := printk(l)
	if !ok {
		return
	}
	if m.FirstKernelLine == 0 {
		m.FirstKernelLine = round3(at)
	}
	if !c.initSeen {
		if off := at - ts; off > 0 && (m.KernelStart == 0 || off < m.KernelStart) {
			m.KernelStart = round3(off)
		}
	}
	if strings.HasPrefix(msg, "Run ") && strings.HasSuffix(msg, " as init process") && m.RunInit == 0 {
		m.RunInit = ts
		c.initSeen = true
	}
}

// printkRE is a kernel log line with its timestamp, anywhere in a console
// line (after what the terminal did not print).
var printkRE = regexp.MustCompile(`\[\s*(\d+\.\d{6})\] (.*)$`)

// printk splits a kernel log line ("[    5.250023] Run /init as init
// process") into its time and message.
func printk(line string) (float64, string, bool) {
	m := printkRE.FindStringSubmatch(line)
	if m == nil {
		return 0, "", false
	}
	ts, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, "", false
	}
	return ts, strings.TrimRight(m[2], "\r"), true
}
