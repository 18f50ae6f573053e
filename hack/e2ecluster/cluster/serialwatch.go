package cluster

import (
	"context"
	"io"
	"os"
	"sync"
	"time"

	"github.com/kubebake/kubebake/hack/e2ecluster/timeline"
)

// serialWatch timestamps a machine's serial console on the host's clock
// as QEMU writes it (timeline.SerialClock), reading the file every
// timeline.PollInterval from when the machine was started until it exits.
type serialWatch struct {
	mu    sync.Mutex
	clock timeline.SerialClock
	err   error
}

// watchSerial starts watching path, written by the machine started at
// started, until done is closed or ctx ends.
func watchSerial(ctx context.Context, path string, started time.Time, done <-chan struct{}) *serialWatch {
	w := &serialWatch{}
	go w.run(ctx, path, started, done)
	return w
}

func (w *serialWatch) run(ctx context.Context, path string, started time.Time, done <-chan struct{}) {
	f, err := os.Open(path)
	if err != nil {
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
		return
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	read := func() {
		for {
			n, err := f.Read(buf)
			if n > 0 {
				at := time.Since(started)
				w.mu.Lock()
				w.clock.Feed(at, buf[:n])
				w.mu.Unlock()
			}
			if err != nil || n == 0 {
				if err != nil && err != io.EOF {
					w.mu.Lock()
					w.err = err
					w.mu.Unlock()
				}
				return
			}
		}
	}
	t := time.NewTicker(timeline.PollInterval)
	defer t.Stop()
	for {
		read()
		select {
		case <-done:
			read()
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// marks returns what was seen so far, and the error that stopped the
// watch, if any.
func (w *serialWatch) marks() (timeline.HostMarks, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.clock.Marks(), w.err
}
