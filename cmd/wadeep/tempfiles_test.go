package main

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/wadeep/wadeep/emulator"
	"github.com/wadeep/wadeep/internal/fsx"
	"github.com/wadeep/wadeep/sink"
)

// These tests run the real wadeep binary and look, at a moment when its
// temporary files exist and after it ends (interrupted, terminated or
// failed), for every temporary file it makes: outputs in the making
// (sink.TempPrefix directories beside them), result downloads
// (.download-*), journal writes (.tmp-*), the plugin's input copy
// (.input-*), download's private directory (wadeep-download-*), and
// result workbooks in a journal (results/*.xlsx, which hold skin_color).

func isTempName(name string) bool {
	for _, p := range []string{sink.TempPrefix, ".download-", fsx.TempPrefix, ".input-", downloadTempPrefix, "excelize-"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// tempEntries walks root and returns its temporary entries, and all that
// is inside temporary directories, as path relative to root → mode.
func tempEntries(t *testing.T, root string) map[string]fs.FileMode {
	t.Helper()
	got := map[string]fs.FileMode{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // removed meanwhile
		}
		rel, _ := filepath.Rel(root, path)
		inTemp := false
		for _, part := range strings.Split(rel, string(filepath.Separator)) {
			inTemp = inTemp || isTempName(part)
		}
		workbook := filepath.Base(filepath.Dir(path)) == "results" && filepath.Ext(path) == ".xlsx"
		if inTemp || workbook {
			if info, err := d.Info(); err == nil {
				got[rel] = info.Mode()
			}
		}
		return nil
	})
	require.NoError(t, err)
	return got
}

// requirePrivateModes checks that every temporary directory is 0700 and
// every temporary file 0600.
func requirePrivateModes(t *testing.T, seen map[string]fs.FileMode) {
	t.Helper()
	for name, mode := range seen {
		switch {
		case mode.IsDir():
			require.Equal(t, fs.FileMode(0o700), mode.Perm(), "%s: a private directory", name)
		case mode.IsRegular():
			require.Equal(t, fs.FileMode(0o600), mode.Perm(), "%s: a private file", name)
		default:
			t.Fatalf("%s: mode %s", name, mode)
		}
	}
}

// requireOneMatch checks that exactly one seen entry matches pattern
// (filepath.Match, on the path relative to the root).
func requireOneMatch(t *testing.T, seen map[string]fs.FileMode, pattern string) {
	t.Helper()
	n := 0
	for name := range seen {
		if ok, _ := filepath.Match(pattern, name); ok {
			n++
		}
	}
	require.Equal(t, 1, n, "one %s among %v", pattern, seen)
}

// tempRoot is a private world for one wadeep process: its TMPDIR, its
// state home and a directory for its outputs, all under one root.
type tempRoot struct {
	root, tmp, state, out string
}

func newTempRoot(t *testing.T) tempRoot {
	root := t.TempDir()
	r := tempRoot{root: root, tmp: filepath.Join(root, "tmp"), state: filepath.Join(root, "state"), out: filepath.Join(root, "out")}
	for _, d := range []string{r.tmp, r.out} {
		require.NoError(t, os.Mkdir(d, 0o777)) // shared, as /tmp is
		require.NoError(t, os.Chmod(d, 0o777))
	}
	return r
}

func (r tempRoot) env(cmd *exec.Cmd) *exec.Cmd {
	cmd.Env = append(cmd.Env, "TMPDIR="+r.tmp, "XDG_STATE_HOME="+r.state)
	return cmd
}

// requireClean checks that nothing temporary is left anywhere, and that
// TMPDIR is empty.
func (r tempRoot) requireClean(t *testing.T) {
	t.Helper()
	require.Empty(t, tempEntries(t, r.root), "no temporary file is left")
	left, err := os.ReadDir(r.tmp)
	require.NoError(t, err)
	require.Empty(t, left, "nothing is left in TMPDIR")
}

// waitExit waits for cmd and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("wadeep did not exit within 60 s of the signal")
	}
	return cmd.ProcessState.ExitCode()
}

// startHeld starts cmd and waits until the trap holds its request.
func startHeld(t *testing.T, e *crashEnv, cmd *exec.Cmd, stderr *bytes.Buffer) {
	t.Helper()
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil { // the test stopped before waitExit
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	select {
	case <-e.trap.hit:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("wadeep never reached the held request: %s", stderr.String())
	}
}

func TestSignalsLeaveNoTempFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals real wadeep processes; skipped with -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT or SIGTERM to send on Windows")
	}
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run("check "+sig.String(), func(t *testing.T) {
			t.Parallel()
			e := newCrashEnv(t, crashLines)
			r := newTempRoot(t)
			// Held halfway through the second chunk's download: the first
			// chunk's profiles are kept, the output (Arrow: with a spill
			// file) is being written, the download is in a temp file.
			e.trap.arm("download", 2, false)
			args := []string{"check", e.input, "--api-url", e.url, "--user-id", "sig", "--chunk-size", "200", "--parallel", "1",
				"--poll-floor", "20ms", "--export-min", "0", "--out", filepath.Join(r.out, "profiles.arrow"), "--rejects", filepath.Join(r.out, "rejects.csv")}
			cmd := r.env(e.command(args...))
			var stderr bytes.Buffer
			startHeld(t, e, cmd, &stderr)

			seen := tempEntries(t, r.root)
			requirePrivateModes(t, seen)
			requireOneMatch(t, seen, filepath.Join("out", sink.TempPrefix+"*"))
			requireOneMatch(t, seen, filepath.Join("out", sink.TempPrefix+"*", "profiles.arrow-*.tmp"))
			requireOneMatch(t, seen, filepath.Join("out", sink.TempPrefix+"*", "spill-*.arrows"))
			requireOneMatch(t, seen, filepath.Join("state", "wadeep", "jobs", "*", "results", ".download-*"))
			for _, d := range []string{"wadeep", "wadeep/jobs", "wadeep/jobs/*", "wadeep/jobs/*/results", "wadeep/jobs/*/chunks"} {
				m, err := filepath.Glob(filepath.Join(r.state, d))
				require.NoError(t, err)
				require.Len(t, m, 1, d)
				st, err := os.Stat(m[0])
				require.NoError(t, err)
				require.Equal(t, fs.FileMode(0o700), st.Mode().Perm(), "%s: the journal is private", d)
			}

			require.NoError(t, cmd.Process.Signal(sig))
			require.Equal(t, 130, waitExit(t, cmd), stderr.String())
			require.Contains(t, stderr.String(), "interrupted; rerun the same command to resume")
			r.requireClean(t)
			require.NoFileExists(t, filepath.Join(r.out, "profiles.arrow"), "no output from a stopped run")

			// The journal is whole: the same command finishes, paying for
			// no chunk twice, and leaves nothing temporary either.
			cmd = r.env(e.command(args...))
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			require.Equal(t, crashChunks, e.sandbox.Stats().Creates)
			require.FileExists(t, filepath.Join(r.out, "profiles.arrow"))
			r.requireClean(t)
		})
	}

	t.Run("download SIGINT", func(t *testing.T) {
		t.Parallel()
		e := newCrashEnv(t, 50)
		r := newTempRoot(t)
		code, stdout, stderr := cli(t, "", "submit", e.input, "--api-url", e.url, "--api-key", emulator.DefaultAPIKey, "--user-id", "sig",
			"--state", filepath.Join(r.root, "journal"))
		require.Equal(t, 0, code, stderr)
		task := strings.Fields(stdout)[1]
		require.Eventually(t, func() bool { return e.sandbox.Tasks()[0].Status == emulator.StatusExported }, 10*time.Second, 5*time.Millisecond)

		e.trap.arm("download", 1, false)
		cmd := r.env(e.command("download", task, "--api-url", e.url, "--user-id", "sig", "--out", filepath.Join(r.out, "p.parquet")))
		var errb bytes.Buffer
		startHeld(t, e, cmd, &errb)
		seen := tempEntries(t, r.root)
		requirePrivateModes(t, seen)
		requireOneMatch(t, seen, filepath.Join("tmp", downloadTempPrefix+"*"))
		requireOneMatch(t, seen, filepath.Join("tmp", downloadTempPrefix+"*", ".download-*"))

		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		require.Equal(t, 130, waitExit(t, cmd), errb.String())
		r.requireClean(t)
		require.NoFileExists(t, filepath.Join(r.out, "p.parquet"))
	})
}

func TestFailedRunsLeaveNoTempFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real wadeep binary; skipped with -short")
	}
	t.Parallel()
	t.Run("refused key", func(t *testing.T) {
		t.Parallel()
		e := newCrashEnv(t, 50)
		r := newTempRoot(t)
		cmd := r.env(e.command("check", e.input, "--api-url", e.url, "--user-id", "u", "--poll-floor", "20ms",
			"--out", filepath.Join(r.out, "profiles.xlsx"), "--rejects", filepath.Join(r.out, "rejects.arrow")))
		cmd.Env = append(cmd.Env, "WADEEP_API_KEY=not-the-key")
		out, err := cmd.CombinedOutput()
		require.Error(t, err)
		require.Equal(t, 1, cmd.ProcessState.ExitCode(), "%s", out)
		require.Contains(t, string(out), "401")
		r.requireClean(t)
		require.NoFileExists(t, filepath.Join(r.out, "profiles.xlsx"))
	})

	t.Run("bad result", func(t *testing.T) {
		t.Parallel()
		// The sandbox serves a result workbook with an age that is not one.
		sb := emulator.New(emulator.WithSpeed(4000), emulator.WithStartDelay(0), emulator.WithExportDelay(0), emulator.WithSeed(5))
		bad := badResult(t, strings.Fields(numberLines(0, 10)))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if kindOf(req) == "download" {
				w.Header().Set("Content-Length", itoa(len(bad)))
				w.Write(bad)
				return
			}
			sb.ServeHTTP(w, req)
		}))
		defer srv.Close()
		e := &crashEnv{t: t}
		r := newTempRoot(t)
		input := filepath.Join(r.root, "numbers.txt")
		writeNumbers(t, input, 0, 10)
		cmd := r.env(e.command("check", input, "--api-url", srv.URL, "--user-id", "u", "--poll-floor", "20ms", "--export-min", "0",
			"--out", filepath.Join(r.out, "profiles.parquet")))
		out, err := cmd.CombinedOutput()
		require.Error(t, err)
		require.Equal(t, 1, cmd.ProcessState.ExitCode(), "%s", out)
		require.Contains(t, string(out), `age "old"`)
		require.Contains(t, string(out), "the downloaded result file was deleted")
		r.requireClean(t)
		require.NoFileExists(t, filepath.Join(r.out, "profiles.parquet"))
	})
}

// badResult is the sandbox's result workbook for numbers with the second
// row's age replaced by a word.
func badResult(t *testing.T, numbers []string) []byte {
	t.Helper()
	var good bytes.Buffer
	require.NoError(t, emulator.WriteResults(&good, numbers))
	f, err := excelize.OpenReader(&good)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.SetCellValue(emulator.ResultSheet, "D3", "old"))
	b, err := f.WriteToBuffer()
	require.NoError(t, err)
	return b.Bytes()
}
