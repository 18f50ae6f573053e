package cluster

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/kubebake/kubebake/hack/e2ecluster/timeline"
	"github.com/kubebake/kubebake/internal/userdata"
)

// PlainOptions describe one boot of a plain base image (make bench-boot's
// base): no NodeConfig and nothing to install, only the timeline script
// (timeline.ModePlain), on a link of its own with Node's static address,
// as a cluster's node has.
type PlainOptions struct {
	// Image is the plain base image (read-only: a throw-away snapshot).
	Image string
	// WorkDir holds the seed, the serial logs and the link's socket.
	WorkDir string
	// Node is the machine: name, address, MAC, UUID, memory, CPUs.
	Node Node
	// Accel and QEMU as in Options.
	Accel, QEMU string
	// Wait bounds the boot and its timeline.
	Wait time.Duration
	// Progress receives what happens, as it happens.
	Progress io.Writer
}

// PlainResult is what the plain boot gave.
type PlainResult struct {
	Node Node
	// PowerOnToTimeline is the host's time from starting QEMU to the
	// timeline's last line.
	PowerOnToTimeline time.Duration
	// Host, Guest and TimelineError as in NodeResult.
	Host          timeline.HostMarks
	Guest         timeline.Guest
	TimelineError string
	// SerialLog and ReportLog are the console and second serial port.
	SerialLog, ReportLog string
}

// BootPlain boots the plain base once, waits for its timeline and stops
// it.
func BootPlain(ctx context.Context, o PlainOptions) (*PlainResult, error) {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Node.Name == "" || o.Node.IP == "" {
		return nil, fmt.Errorf("plain boot: the node needs a name and an address")
	}
	image, err := existingImage(o.Image)
	if err != nil {
		return nil, err
	}
	_, accel, why, hub, err := setUp(ctx, o.WorkDir, o.Accel, o.QEMU)
	if err != nil {
		return nil, err
	}
	defer hub.Close()
	ctx, cancel := context.WithTimeout(ctx, o.Wait)
	defer cancel()
	part, err := TimelinePart(timeline.ScriptOptions{Node: o.Node.Name, Mode: timeline.ModePlain, ReadyWait: o.Wait, BootWait: o.Wait})
	if err != nil {
		return nil, err
	}
	ud, err := userdata.Multipart(part)
	if err != nil {
		return nil, err
	}
	run := Options{WorkDir: o.WorkDir, QEMU: o.QEMU, Progress: o.Progress, Timeline: true}
	mc, err := start(ctx, run, accel, launch{node: o.Node, image: image, userData: ud, netdev: hub.Netdev()})
	if err != nil {
		return nil, err
	}
	defer mc.m.Stop(10 * time.Second)
	fmt.Fprintf(o.Progress, "e2e-cluster: started %s (plain base %s, %s, accelerator %s: %s)\n", o.Node.Name, filepath.Base(image), o.Node.IP, accel, why)
	var nr NodeResult
	readTimeline(ctx, mc, &nr, o.Wait)
	res := &PlainResult{Node: o.Node, PowerOnToTimeline: time.Since(mc.started), Host: nr.Host, Guest: nr.Guest, TimelineError: nr.TimelineError, SerialLog: mc.serial, ReportLog: mc.report}
	fmt.Fprintf(o.Progress, "e2e-cluster: %s: timeline after %s%s\n", o.Node.Name, res.PowerOnToTimeline.Round(time.Second), map[bool]string{true: "", false: ": " + res.TimelineError}[res.TimelineError == ""])
	return res, nil
}
