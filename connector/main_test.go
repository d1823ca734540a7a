package connector

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when any goroutine outlives them: a
// job, a poller or a download that does not end with its caller.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
