//go:build unix

package main

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEmulateSIGUSR1 signals the test's own process: the command installs
// its handler before it prints the listening line that startEmulate waits
// for, so SIGUSR1 never meets the default action (which ends the process).
func TestEmulateSIGUSR1(t *testing.T) {
	e := startEmulate(t)
	e.checkOne(t)
	require.Empty(t, e.reports())
	require.Contains(t, e.stderr.String(), "or kill -USR1 ")
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
	want := "sandbox: " + statsLine(e.statsRoute(t))
	require.Eventually(t, func() bool {
		r := e.reports()
		return len(r) == 1 && r[0] == want
	}, 5*time.Second, 10*time.Millisecond, "one line per SIGUSR1: %s", e.stderr.String())
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
	require.Eventually(t, func() bool { return len(e.reports()) == 2 }, 5*time.Second, 10*time.Millisecond)
}
