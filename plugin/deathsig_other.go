//go:build !linux

package plugin

import "os/exec"

// setDeathSignal does nothing where there is no parent-death signal; the
// plugin's watch of its parent ends it.
func setDeathSignal(*exec.Cmd) {}
