package plugin

import (
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
)

// socketDirPrefix names the private directory a host makes for the
// plugin's unix socket (go-plugin's PLUGIN_UNIX_SOCKET_DIR).
const socketDirPrefix = "wadeep-plugin-"

// parentPoll is how often the plugin looks whether its parent still lives.
const parentPoll = 200 * time.Millisecond

// watchParent ends the plugin when its host dies: on SIGTERM (the Linux
// parent-death signal Open asks for) or as soon as the parent process id
// changes (the host died and the plugin was re-parented; the death signal
// alone is not enough, as it fires when the starting thread ends,
// golang/go#27505). Either way it removes the socket directory its host
// made, which a dead host cannot, and exits. A job in flight stops there:
// its journal is crash-safe and the next Read resumes it.
func watchParent(log hclog.Logger) (stop func()) {
	ppid := os.Getppid()
	term := make(chan os.Signal, 1)
	// SIGPIPE too: a write to the dead host's stderr pipe would otherwise
	// end the process before it could remove its socket.
	signal.Notify(term, syscall.SIGTERM, syscall.SIGPIPE)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(parentPoll)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case sig := <-term:
				removeSocketDir() // first: the log line may fail
				log.Warn("exiting on a signal", "signal", sig.String())
			case <-t.C:
				if os.Getppid() == ppid {
					continue
				}
				removeSocketDir()
				log.Warn("the host process died; exiting", "host_pid", ppid)
			}
			os.Exit(3)
		}
	}()
	return func() {
		signal.Stop(term)
		close(done)
	}
}

// removeSocketDir removes the socket directory a wadeep host made for this
// plugin, and nothing else.
func removeSocketDir() {
	dir := os.Getenv(goplugin.EnvUnixSocketDir)
	if dir != "" && strings.HasPrefix(filepath.Base(dir), socketDirPrefix) {
		os.RemoveAll(dir)
	}
}
