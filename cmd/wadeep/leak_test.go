package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the command's tests when a goroutine outlives them
// (progress tickers, jobs, sandboxes): a command ends with its caller.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
