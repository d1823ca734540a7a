//go:build !windows

package main

import (
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
)

// TestSecretInterrupted stops wadeep with Ctrl-C (SIGINT) while a status
// call is held, then reruns it: neither the interrupted run nor the one
// that resumes writes the key.
func TestSecretInterrupted(t *testing.T) {
	skipShort(t)
	t.Parallel()
	e, tr, release := newTrappedEnv(t, keyEnv)
	tr.arm("status", 2, false)
	args := append(append([]string{"check", e.input(), "--state", e.path("state"), "--out", e.path("out", "p.duckdb"), "--enrich"}, e.api()...), fastJob...)
	run := e.start(args...)
	select {
	case <-tr.hit:
	case <-time.After(30 * time.Second):
		run.kill()
		run.wait()
		t.Fatal("wadeep never reached its second status call")
	}
	require.NoError(t, run.cmd.Process.Signal(os.Interrupt))
	r := run.wait()
	require.Equal(t, 130, r.code, r.stderr)
	require.Contains(t, r.stderr, "interrupted; rerun the same command to resume")
	release()
	r = e.run(args...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "from an earlier run")
}

// TestSecretOnTerminal runs check on a pseudo-terminal, where the progress
// is redrawn in place every 200 ms: the most wadeep ever says.
func TestSecretOnTerminal(t *testing.T) {
	skipShort(t)
	t.Parallel()
	e := newSecretEnv(t, keyFileFlag, nil, emulator.WithSpeed(100), emulator.WithStartDelay(300*time.Millisecond))
	args := append(append([]string{"check", e.input(), "--state", e.path("state"), "--out", e.path("out", "p.xlsx"), "--rejects", e.path("out", "r.jsonl")}, e.api()...), fastJob...)
	r := &runningWadeep{e: e, args: args}
	r.cmd = exec.Command(wadeepBinary(t), args...)
	r.cmd.Env, r.cmd.Dir = e.environ(), e.path("work")
	r.watch = e.scan.Watch(e.root)
	ptmx, err := pty.StartWithSize(r.cmd, &pty.Winsize{Rows: 30, Cols: 100})
	require.NoError(t, err)
	read := make(chan struct{})
	go func() {
		defer close(read)
		io.Copy(&r.stderr, ptmx) // stdout and stderr, as the terminal shows them; ends with EIO
	}()
	r.afterExit = func() {
		select {
		case <-read:
		case <-time.After(5 * time.Second):
			t.Error("the pty stayed open after wadeep ended")
		}
		ptmx.Close()
	}
	res := r.wait()
	require.Equal(t, 0, res.code, res.stderr)
	require.Contains(t, res.stderr, "\x1b[K", "the progress line was redrawn in place")
	require.Contains(t, res.stderr, "rows in: 28; profiles out: 25")
}
