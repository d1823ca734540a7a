package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
)

// emulating is wadeep emulate run in-process until the test ends.
type emulating struct {
	stderr syncBuffer
	url    string // the API URL
	stats  string // the counters' URL
}

func startEmulate(t *testing.T, args ...string) *emulating {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e := &emulating{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"emulate", "--addr", "127.0.0.1:0", "--speed", "Inf", "--start-delay", "0s", "--export-delay", "0s"}, args...),
			strings.NewReader(""), io.Discard, &e.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		require.Equal(t, 0, <-done, e.stderr.String())
		require.Contains(t, e.stderr.String(), "sandbox stopped: tasks: ")
	})
	re := regexp.MustCompile(`--api-url (\S+)` + regexp.QuoteMeta(emulator.BasePath) + `[^\n]*\ncounters: curl (\S+)`)
	require.Eventually(t, func() bool {
		m := re.FindStringSubmatch(e.stderr.String())
		if m != nil {
			e.url, e.stats = m[1], m[2]
		}
		return m != nil
	}, 10*time.Second, 5*time.Millisecond, "no listening line")
	require.Equal(t, e.url+emulator.StatsPath, e.stats)
	return e
}

// checkOne runs wadeep check of one number against the sandbox.
func (e *emulating) checkOne(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "n.txt")
	require.NoError(t, os.WriteFile(in, []byte("+41798284651\n"), 0o600))
	code, _, errOut := cli(t, "", "check", in, "--api-url", e.url, "--api-key", emulator.DefaultAPIKey, "--user-id", "u",
		"--state", filepath.Join(dir, "s"), "--poll-floor", "10ms", "--export-min", "0", "--out", filepath.Join(dir, "o.csv"))
	require.Equal(t, 0, code, errOut)
}

func (e *emulating) statsRoute(t *testing.T) emulator.Stats {
	t.Helper()
	resp, err := http.Get(e.stats)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var st emulator.Stats
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	return st
}

// reports counts the counter lines printed while running.
func (e *emulating) reports() []string {
	return regexp.MustCompile(`(?m)^sandbox: tasks: .*$`).FindAllString(e.stderr.String(), -1)
}

func TestEmulateReport(t *testing.T) {
	e := startEmulate(t, "--report", "50ms")
	e.checkOne(t)
	st := e.statsRoute(t)
	require.Equal(t, 1, st.Creates)
	require.Equal(t, 1, st.Downloads)
	want := statsLine(st)
	require.Equal(t, "tasks: 1; charged calls: "+itoa(st.Charged)+" (1 creation, "+itoa(st.StatusCalls)+" status); downloads: 1; numbers submitted again: 0", want)
	require.Eventually(t, func() bool {
		r := e.reports()
		return len(r) >= 2 && r[len(r)-1] == "sandbox: "+want
	}, 5*time.Second, 10*time.Millisecond, "the counters every 50 ms: %s", e.stderr.String())
	require.Equal(t, st, e.statsRoute(t), "reading the counters changes none")
}

func TestEmulateNoReport(t *testing.T) {
	e := startEmulate(t)
	time.Sleep(200 * time.Millisecond)
	require.Empty(t, e.reports(), "without --report, no counters until asked")
}

func TestReportInterval(t *testing.T) {
	for in, want := range map[string]time.Duration{"30": 30 * time.Second, "0.5": 500 * time.Millisecond, "30s": 30 * time.Second, "2m": 2 * time.Minute, "0": 0} {
		var r reportInterval
		require.NoError(t, r.Set(in), in)
		require.Equal(t, want, time.Duration(r), in)
	}
	for _, in := range []string{"-1", "-5s", "soon", "NaN", "Inf", "1e300"} {
		var r reportInterval
		require.Error(t, r.Set(in), in)
	}
	code, _, stderr := cli(t, "", "emulate", "--report", "soon")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "want seconds (30) or a duration (30s)")
}

func TestStatsLine(t *testing.T) {
	require.Equal(t, "tasks: 2; charged calls: 7 (2 creations, 5 status); downloads: 2; numbers submitted again: 3; cut downloads: 1; lost creation answers: 1; error answers: 3 (404: 1, 500: 2)",
		statsLine(emulator.Stats{Creates: 2, StatusCalls: 5, Charged: 7, Downloads: 2, DuplicateUploads: 3, CutDownloads: 1, LostCreates: 1, Errors: map[int]int{500: 2, 404: 1}}))
}
