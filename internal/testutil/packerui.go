package testutil

import (
	"fmt"
	"io"
	"strings"
	"sync"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// UI is a Packer UI for tests that keeps every line it is given.
type UI struct {
	packersdk.Ui
	mu    sync.Mutex
	lines []string
}

// Say records a line.
func (u *UI) Say(s string) { u.add(s) }

// Sayf records a formatted line.
func (u *UI) Sayf(f string, a ...any) { u.add(fmt.Sprintf(f, a...)) }

// Message records a line.
func (u *UI) Message(s string) { u.add(s) }

// Error records a line marked ERROR.
func (u *UI) Error(s string) { u.add("ERROR " + s) }

// TrackProgress passes the stream through.
func (u *UI) TrackProgress(_ string, _, _ int64, stream io.ReadCloser) io.ReadCloser { return stream }

func (u *UI) add(s string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.lines = append(u.lines, s)
}

// String is every line so far.
func (u *UI) String() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return strings.Join(u.lines, "\n")
}
