//go:build unix

package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// statsSignal delivers SIGUSR1 while the sandbox runs; stop ends that, and
// SIGUSR1 gets its default action again.
func statsSignal() (_ <-chan os.Signal, stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	return ch, func() { signal.Stop(ch) }
}

func statsSignalHint() string { return fmt.Sprintf(" or kill -USR1 %d", os.Getpid()) }
