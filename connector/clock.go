package connector

import (
	"context"
	"time"
)

// Clock is the job's time source. Tests use a virtual clock that moves on
// Sleep, so an hour-long task runs in milliseconds.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error { return sleepCtx(ctx, d) }
