package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
)

// These tests kill a real wadeep process with SIGKILL at chosen points of a
// run, rerun the same command, and check the output against a clean run
// while the sandbox's counters prove that nothing was uploaded twice.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func wadeepBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wadeep-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "wadeep")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	require.NoError(t, buildErr, binPath)
	return binPath
}

// trap is a sandbox in front of which requests can be held: the n-th request
// of a kind signals hit and waits for release, so that a test can kill the
// client while the request is in flight.
type trap struct {
	next    http.Handler
	mu      sync.Mutex
	kind    string // "create", "status" or "download"; "" holds nothing
	nth     int64
	forward bool // after release, let the held request reach the sandbox
	seen    int64
	hit     chan struct{}
	release chan struct{}
}

// arm sets which request to hold.
func (tr *trap) arm(kind string, nth int64, forward bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.kind, tr.nth, tr.forward, tr.seen = kind, nth, forward, 0
}

// holds reports whether r is the request to hold, counting it.
func (tr *trap) holds(r *http.Request) (hold, forward bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.kind == "" || kindOf(r) != tr.kind {
		return false, false
	}
	tr.seen++
	if tr.seen != tr.nth {
		return false, false
	}
	tr.kind = "" // once
	return true, tr.forward
}

func kindOf(r *http.Request) string {
	switch {
	case r.Method == http.MethodPost:
		return "create"
	case strings.Contains(r.URL.Path, "/results/"):
		return "download"
	default:
		return "status"
	}
}

func (tr *trap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hold, forward := tr.holds(r)
	if !hold {
		tr.next.ServeHTTP(w, r)
		return
	}
	if kindOf(r) == "download" {
		// Send half of the file, then hold: the kill lands mid-download.
		rec := httptest.NewRecorder()
		tr.next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		w.Header().Set("Content-Length", itoa(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		close(tr.hit)
		<-tr.release
		return
	}
	// Take the whole request before holding it, so that it can still reach
	// the sandbox after the client is gone.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	close(tr.hit)
	<-tr.release
	if forward {
		held := r.Clone(context.Background())
		held.Body = io.NopCloser(bytes.NewReader(body))
		tr.next.ServeHTTP(httptest.NewRecorder(), held) // the answer is lost with the client
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

type crashEnv struct {
	t       *testing.T
	sandbox *emulator.Server
	trap    *trap
	url     string
	dir     string
	input   string
}

func newCrashEnv(t *testing.T, lines int) *crashEnv {
	s := emulator.New(emulator.WithSeed(11), emulator.WithSpeed(4000), emulator.WithStartDelay(20*time.Millisecond), emulator.WithExportDelay(20*time.Millisecond))
	tr := &trap{next: s, hit: make(chan struct{}), release: make(chan struct{})}
	ts := httptest.NewServer(tr)
	t.Cleanup(func() {
		select {
		case <-tr.release:
		default:
			close(tr.release)
		}
		ts.Close()
	})
	dir := t.TempDir()
	input := filepath.Join(dir, "numbers.txt")
	var b strings.Builder
	for i := 0; i < lines; i++ {
		// Swiss mobiles: +41 79 plus seven digits, all valid.
		b.WriteString("+4179" + itoaPad(1000000+i*37, 7) + "\n")
		if i%50 == 0 {
			b.WriteString("junk\n")
		}
	}
	require.NoError(t, os.WriteFile(input, []byte(b.String()), 0o600))
	return &crashEnv{t: t, sandbox: s, trap: tr, url: ts.URL, dir: dir, input: input}
}

func itoaPad(n, width int) string {
	s := itoa(n)
	return strings.Repeat("0", max(0, width-len(s))) + s
}

func (e *crashEnv) args(out string, extra ...string) []string {
	return append([]string{"check", e.input, "--api-url", e.url, "--user-id", "crash", "--chunk-size", "200",
		"--parallel", "1", "--poll-floor", "20ms", "--export-min", "0", "--state", filepath.Join(e.dir, "state"), "--out", out}, extra...)
}

func (e *crashEnv) command(args ...string) *exec.Cmd {
	cmd := exec.Command(wadeepBinary(e.t), args...)
	cmd.Env = append(os.Environ(), "WADEEP_API_KEY="+emulator.DefaultAPIKey)
	return cmd
}

// killAt starts wadeep, waits for the trap to hold a request, and kills it.
func (e *crashEnv) killAt(kind string, nth int64, forward bool) {
	e.t.Helper()
	e.trap.arm(kind, nth, forward)
	cmd := e.command(e.args(filepath.Join(e.dir, "killed.csv"))...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(e.t, cmd.Start())
	select {
	case <-e.trap.hit:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		e.t.Fatalf("wadeep never reached %s #%d: %s", kind, nth, stderr.String())
	}
	require.NoError(e.t, cmd.Process.Kill()) // SIGKILL: no cleanup runs
	cmd.Wait()
	close(e.trap.release)
	if forward {
		// Wait for the held request to reach the sandbox.
		deadline := time.Now().Add(10 * time.Second)
		for e.sandbox.Stats().Creates < int(nth) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// rerun runs the same command to the end and returns the output rows.
func (e *crashEnv) rerun(extra ...string) ([]string, string, error) {
	out := filepath.Join(e.dir, "out.csv")
	cmd := e.command(e.args(out, extra...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil {
		return nil, stderr.String(), err
	}
	return profileLines(e.t, out), stderr.String(), nil
}

// profileLines is the output without the provenance columns, which name
// tasks and times that differ between sandboxes.
func profileLines(t *testing.T, path string) []string {
	rows := readCSV(t, path)
	var lines []string
	for _, r := range rows {
		delete(r, "task_id")
		delete(r, "checked_at")
		var keys []string
		for k := range r {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(k + "=" + r[k] + ";")
		}
		lines = append(lines, b.String())
	}
	return lines
}

// crashLines numbers in chunks of 200 make crashChunks tasks.
const (
	crashLines  = 600
	crashChunks = 3
)

var (
	cleanOnce  sync.Once
	cleanLines []string
)

// cleanRun is the output of an undisturbed run on its own sandbox.
func cleanRun(t *testing.T) []string {
	cleanOnce.Do(func() {
		e := newCrashEnv(t, crashLines)
		lines, stderr, err := e.rerun()
		require.NoError(t, err, stderr)
		cleanLines = lines
	})
	require.Len(t, cleanLines, crashLines)
	return cleanLines
}

func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills real wadeep processes; skipped with -short")
	}
	t.Parallel()
	want := cleanRun(t)
	for _, tc := range []struct {
		name string
		kind string
		nth  int64
	}{
		{"while polling the first task", "status", 1},
		{"between creations", "status", 2},
		{"mid-download", "download", 1},
		{"mid-download of a later chunk", "download", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each case has its own sandbox and journal
			e := newCrashEnv(t, crashLines)
			e.killAt(tc.kind, tc.nth, false)
			createdBefore := e.sandbox.Stats().Creates
			require.Positive(t, createdBefore)

			got, stderr, err := e.rerun()
			require.NoError(t, err, stderr)
			require.Equal(t, want, got, "the rerun's output equals a clean run's")
			st := e.sandbox.Stats()
			require.Equal(t, crashChunks, st.Creates, "each chunk created exactly once over both runs")
			require.Zero(t, st.DuplicateUploads, "no number uploaded twice")
			require.Zero(t, st.DuplicateFiles)
			require.Contains(t, stderr, itoa(createdBefore)+" from an earlier run")
		})
	}
}

func TestKillBeforeFirstCreation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills real wadeep processes; skipped with -short")
	}
	t.Parallel()
	want := cleanRun(t)
	e := newCrashEnv(t, crashLines)
	// wadeep reads all of stdin before it creates anything: kill it while
	// it waits for the rest of the input.
	cmd := e.command(append([]string{"check", "-"}, e.args(filepath.Join(e.dir, "killed.csv"))[2:]...)...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	stdin.Write([]byte("+41791234567\n"))
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()
	require.Zero(t, e.sandbox.Stats().Charged)

	got, stderr, err := e.rerun()
	require.NoError(t, err, stderr)
	require.Equal(t, want, got)
	require.Equal(t, crashChunks, e.sandbox.Stats().Creates)
}

func TestKillDuringCreationIsNotResubmittedSilently(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills real wadeep processes; skipped with -short")
	}
	t.Parallel()
	want := cleanRun(t)
	e := newCrashEnv(t, crashLines)
	// The creation reaches the sandbox, which creates (and charges) the
	// task, but wadeep dies before the answer arrives.
	e.killAt("create", 2, true)
	require.Equal(t, 2, e.sandbox.Stats().Creates)

	_, stderr, err := e.rerun()
	require.Error(t, err)
	require.Contains(t, stderr, "task creation answer lost")
	require.Contains(t, stderr, "--resubmit-lost")
	require.Equal(t, 2, e.sandbox.Stats().Creates, "the rerun created nothing on its own")

	got, stderr, err := e.rerun("--resubmit-lost")
	require.NoError(t, err, stderr)
	require.Equal(t, want, got)
	require.Equal(t, crashChunks+1, e.sandbox.Stats().Creates, "one chunk twice, as the flag warns")
}
