package plugin

import (
	"os/exec"
	"syscall"
)

// setDeathSignal asks Linux to send the plugin SIGTERM when the host's
// thread that started it dies. SIGTERM, not SIGKILL: the plugin catches it
// to remove its socket before it exits (a SIGKILLed plugin leaves it, as
// go-plugin issue #210 shows).
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
