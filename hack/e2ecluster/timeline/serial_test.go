package timeline

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// arrival plays a console as the host would read it: OVMF's lines at the
// given host times, then each kernel line once the kernel's clock, started
// at kernelStart, reached its printk time and the console was up (the
// kernel replays what it printed before), each read at the next poll.
// Lines without a printk time come with the line before.
func arrival(t *testing.T, log []byte, firmware []float64, kernelStart, consoleUp float64) map[float64][]byte {
	t.Helper()
	reads := map[float64][]byte{}
	at, fw := 0.0, 0
	for _, line := range bytes.SplitAfter(log, []byte("\n")) {
		if ts, _, ok := printk(ansiRE.ReplaceAllString(strings.TrimRight(string(line), "\r\n"), "")); ok {
			at = kernelStart + max(ts, consoleUp) + 0.004
		} else if fw < len(firmware) {
			at = firmware[fw]
			fw++
		}
		poll := math.Ceil(at/PollInterval.Seconds()) * PollInterval.Seconds()
		reads[poll] = append(reads[poll], line...)
	}
	require.Equal(t, len(firmware), fw)
	return reads
}

func feedAll(c *SerialClock, reads map[float64][]byte) {
	var polls []float64
	for p := range reads {
		polls = append(polls, p)
	}
	// In order, and each read split in two, mid-line.
	for len(polls) > 0 {
		i := 0
		for j, p := range polls {
			if p < polls[i] {
				i = j
			}
		}
		p := polls[i]
		polls = append(polls[:i], polls[i+1:]...)
		d := time.Duration(p * float64(time.Second))
		b := reads[p]
		c.Feed(d, b[:len(b)/2])
		c.Feed(d, b[len(b)/2:])
	}
}

// TestSerialClock reads the head of a real console (OVMF, the EFI stub,
// the kernel and initrd, systemd's first lines) as it would arrive.
func TestSerialClock(t *testing.T) {
	log := readFixture(t, "serial-cp1.log")
	// Three firmware lines: BdsDxe loading, starting, the EFI stub; the
	// rest of the initrd's lines carry no printk time.
	reads := arrival(t, log, []float64{1.05, 1.31, 2.52}, 3.2, 0.669557)
	var c SerialClock
	feedAll(&c, reads)
	m := c.Marks()
	assert.Equal(t, 1.1, m.FirstOutput, "the first read holds the first byte")
	assert.Equal(t, 1.4, m.BootManager, "BdsDxe: starting")
	assert.Equal(t, 2.6, m.EFIStub)
	assert.Equal(t, 3.9, m.FirstKernelLine, "the console is up 0.67 s into the kernel")
	assert.GreaterOrEqual(t, m.KernelStart, 3.2, "an upper bound")
	assert.InDelta(t, 3.2, m.KernelStart, PollInterval.Seconds()+0.005, "within a poll")
	assert.Equal(t, 5.250023, m.RunInit)
}

// TestSerialClockEstimate: the kernel start is the least of arrival less
// printk time over the kernel's and the initrd's lines; lines after
// "Run /init" do not count (journald's console lines come late).
func TestSerialClockEstimate(t *testing.T) {
	var c SerialClock
	c.Feed(500*time.Millisecond, []byte("\x1b[2J\x1b[01;01HBdsDxe: starting Boot0001 \"UEFI Misc Device\"\r\n"))
	c.Feed(4*time.Second, []byte("[    0.000000] Linux version 6.12\r\n[    0.669557] printk: legacy console [ttyS0] enabled\r\n"))
	c.Feed(4100*time.Millisecond, []byte("[    0.801000] a live line\r\n[    0.")) // a line cut in two reads
	c.Feed(4300*time.Millisecond, []byte("950000] later\r\n"))
	c.Feed(8*time.Second, []byte("[    5.250023] Run /init as init process\r\n"))
	c.Feed(9*time.Second, []byte("\x1b[!p\x1b]104\x07\x1b[?7h[    8.999000] systemd[1]: early and fast\r\n"))
	c.Feed(10*time.Second, nil)
	m := c.Marks()
	assert.Equal(t, HostMarks{FirstOutput: 0.5, BootManager: 0.5, FirstKernelLine: 4, KernelStart: 2.75, RunInit: 5.250023}, m)
}
