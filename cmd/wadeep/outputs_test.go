package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
	"github.com/wadeep/wadeep/internal/fsx/fsxtest"
)

// countingSandbox is the sandbox behind a counter of every request it gets,
// charged or not.
func countingSandbox(t *testing.T) (*emulator.Server, *atomic.Int64, string) {
	t.Helper()
	sb, _ := fastSandbox(t)
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return sb, &n, ts.URL
}

// TestUnusableOutputCallsNothing: an output path that cannot be written is
// refused before the first call to the API (nothing is charged for a run
// that could not finish), with exit code 2 and one line naming the path.
func TestUnusableOutputCallsNothing(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "n.txt")
	require.NoError(t, os.WriteFile(in, []byte("+41798284651\n+33612345678\n"), 0o600))
	xlsx := filepath.Join(dir, "results.xlsx")
	f, err := os.Create(xlsx)
	require.NoError(t, err)
	require.NoError(t, emulator.WriteResults(f, []string{"+41798284651"}))
	require.NoError(t, f.Close())
	good := filepath.Join(dir, "good.csv")
	ro := fsxtest.ReadOnlyDir(t)

	bad := []struct {
		name, path, want string
	}{
		{"missing directory", filepath.Join(dir, "no", "such", "out.parquet"), "directory " + filepath.Join(dir, "no", "such") + " does not exist"},
		{"read-only directory", filepath.Join(ro, "out.parquet"), "cannot create files in directory " + ro},
		{"unknown extension", filepath.Join(dir, "out.pdf"), `unknown output format ".pdf"`},
	}
	// Each command line with the output under test at %s.
	type cmdline struct {
		name string
		args func(url, state, out string) []string
	}
	api := func(url string) []string {
		return []string{"--api-url", url, "--api-key", emulator.DefaultAPIKey, "--user-id", "u"}
	}
	cmds := []cmdline{
		{"check --out", func(url, state, out string) []string {
			return append([]string{"check", in, "--state", state, "--out", out, "--rejects", good}, api(url)...)
		}},
		{"check --rejects", func(url, state, out string) []string {
			return append([]string{"check", in, "--state", state, "--out", good, "--rejects", out}, api(url)...)
		}},
		{"download --out", func(url, state, out string) []string {
			return append([]string{"download", "task-1", "--out", out}, api(url)...)
		}},
		{"convert --out", func(url, state, out string) []string {
			return []string{"convert", xlsx, "--out", out}
		}},
	}
	for _, c := range cmds {
		for _, b := range bad {
			t.Run(c.name+"/"+b.name, func(t *testing.T) {
				sb, requests, url := countingSandbox(t)
				state := filepath.Join(t.TempDir(), "state")
				args := c.args(url, state, b.path)
				code, stdout, stderr := cli(t, "", args...)

				require.Equal(t, 2, code, stderr)
				require.Empty(t, stdout)
				msg := strings.TrimSuffix(stderr, "\n")
				require.NotContains(t, msg, "\n", "one line: %q", stderr)
				require.True(t, strings.HasPrefix(msg, "wadeep "+args[0]+": "+strings.Fields(c.name)[1]+": "), msg)
				require.Contains(t, msg, b.path)
				require.Contains(t, msg, b.want)

				require.Zero(t, requests.Load(), "no call reached the API")
				require.Zero(t, sb.Stats().Charged)
				require.NoDirExists(t, state, "no journal was started")
				require.NoFileExists(t, good, "no other output was written")
			})
		}
	}
}

// TestDryRunSkipsOutputChecks: a dry run writes nothing, so its output paths
// are not checked for writing (their extension still is).
func TestDryRunSkipsOutputChecks(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "n.txt")
	require.NoError(t, os.WriteFile(in, []byte("+41798284651\n"), 0o600))
	code, _, stderr := cli(t, "", "check", in, "--dry-run", "--out", filepath.Join(dir, "no", "such", "o.csv"))
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "dry run: nothing was called")
}
