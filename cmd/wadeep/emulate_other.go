//go:build !unix

package main

import "os"

// statsSignal has no signal to offer where there is no SIGUSR1: the
// counters are printed by --report and answered by the stats route.
func statsSignal() (_ <-chan os.Signal, stop func()) { return nil, func() {} }

func statsSignalHint() string { return "" }
