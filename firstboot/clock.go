package firstboot

import (
	"context"
	"time"

	"github.com/kubebake/kubebake/internal/sys"
)

// Clock tells the time and waits; tests use a fake one.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns the current time.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits d or until ctx is done.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error { return sys.Sleep(ctx, d) }
