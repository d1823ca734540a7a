package connector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTrackerETA(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := newPollTracker(DefaultPollPolicy(), 1000, t0, 1)
	tr.observe(&Task{ID: "a", Status: StatusPending, CreatedAt: t0, UpdatedAt: t0}, t0)
	_, ok := tr.eta(t0)
	require.False(t, ok, "no estimate while pending")

	// 10 numbers per second, seen twice.
	at1, at2 := t0.Add(20*time.Second), t0.Add(40*time.Second)
	tr.observe(&Task{ID: "a", Status: StatusProcessing, Total: 1000, Success: 100, CreatedAt: t0, UpdatedAt: at1}, at1)
	tr.observe(&Task{ID: "a", Status: StatusProcessing, Total: 1000, Success: 300, CreatedAt: t0, UpdatedAt: at2}, at2)
	left, ok := tr.eta(at2)
	require.True(t, ok)
	require.InDelta(t, 70, left.Seconds(), 7, "700 numbers left at 10/s")

	tr.observe(&Task{ID: "a", Status: StatusExported, Total: 1000, Success: 1000, CreatedAt: t0, UpdatedAt: at2, ResultURL: "https://x"}, at2)
	left, ok = tr.eta(at2)
	require.True(t, ok)
	require.Zero(t, left)
}
