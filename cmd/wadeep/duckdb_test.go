//go:build cgo

package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
)

// swissNumbers returns n valid Swiss mobile numbers from first on.
// TestCheckDuckDBThenCache is the end to end: a check into p.duckdb, SQL
// over it, then a check of an overlapping list with --cache p.duckdb that
// uploads only the new numbers and the ones the upstream failed on.
func TestCheckDuckDBThenCache(t *testing.T) {
	sb, url := fastSandbox(t, emulator.WithFailureRate(0.2))
	dir := t.TempDir()
	db := filepath.Join(dir, "p.duckdb")
	first := swissNumbers(0, 60)
	writeLines(t, filepath.Join(dir, "a.txt"), append(first, "not a number"))
	api := []string{"--api-url", url, "--api-key", emulator.DefaultAPIKey, "--user-id", "u1", "--poll-floor", "10ms", "--export-min", "0", "--chunk-size", "25"}

	code, _, stderr := cli(t, "", append([]string{"check", filepath.Join(dir, "a.txt"), "--out", db, "--state", filepath.Join(dir, "s1")}, api...)...)
	require.Equal(t, 0, code, stderr)
	code, stdout, stderr := cli(t, "", "sql", "--db", db, "--format", "csv", "SELECT count(*) AS n, count(*) FILTER (WHERE status = 'failed') AS failed FROM profiles")
	require.Equal(t, 0, code, stderr)
	var failed []string
	for _, n := range first {
		if sb.Profile(n).Failed {
			failed = append(failed, n)
		}
	}
	require.NotEmpty(t, failed, "the sandbox fails some numbers at this rate")
	require.Equal(t, fmt.Sprintf("n,failed\n60,%d\n", len(failed)), stdout)
	code, stdout, _ = cli(t, "", "sql", "--db", db, "--format", "csv", "SELECT count(*) FROM tasks; ")
	require.Equal(t, 0, code)
	require.Equal(t, "count_star()\n3\n", stdout)
	code, stdout, _ = cli(t, "", "sql", "--db", db, "--format", "csv", "SELECT kind, value, reason FROM failures WHERE kind = 'rejected'")
	require.Equal(t, 0, code)
	require.Equal(t, "kind,value,reason\nrejected,not a number,not a number\n", stdout)

	// 40 of the first numbers again, and 20 new ones.
	second := append(swissNumbers(20, 40), swissNumbers(1000, 20)...)
	writeLines(t, filepath.Join(dir, "b.txt"), second)
	before := sb.Uploads()
	out := filepath.Join(dir, "b.csv")
	code, _, stderr = cli(t, "", append([]string{"check", filepath.Join(dir, "b.txt"), "--cache", db, "--max-age", "30d", "--out", out, "--state", filepath.Join(dir, "s2")}, api...)...)
	require.Equal(t, 0, code, stderr)
	after := sb.Uploads()
	want := map[string]bool{}
	for _, n := range swissNumbers(1000, 20) {
		want[n] = true
	}
	for _, n := range failed {
		if n >= "+41798200020" {
			want[n] = true // failed upstream: not a profile, checked again
		}
	}
	got := map[string]bool{}
	for n, c := range after {
		if c > before[n] {
			got[n] = true
		}
	}
	require.Equal(t, want, got, "only the new numbers and the failed ones are uploaded")
	cached := 60 - len(want)
	require.Contains(t, stderr, fmt.Sprintf("cache %s: %d numbers served", db, cached))

	rows := readCSV(t, out)
	require.Len(t, rows, 60)
	sources := map[string]int{}
	for _, r := range rows {
		sources[r["source"]]++
		if want[r["number"]] {
			require.Equal(t, "upstream", r["source"], r["number"])
		}
	}
	require.Equal(t, map[string]int{"cache": cached, "upstream": len(want)}, sources)

	// The new results went back into the cache.
	code, stdout, _ = cli(t, "", "sql", "--db", db, "--format", "csv", "SELECT count(*) FROM profiles")
	require.Equal(t, 0, code)
	require.Equal(t, "count_star()\n80\n", stdout)

	// A dry run says what the cache saves and calls nothing.
	charged := sb.Stats().Charged
	code, _, stderr = cli(t, "", append([]string{"check", filepath.Join(dir, "b.txt"), "--cache", db, "--dry-run"}, api...)...)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, charged, sb.Stats().Charged)
	require.Regexp(t, `cache .*: \d+ numbers? served .*saves \d+ tasks?, at least \d+ charged calls?`, stderr)
}

func TestSQLErrorsAndFormats(t *testing.T) {
	dir := t.TempDir()
	xlsx := filepath.Join(dir, "results.xlsx")
	f, err := os.Create(xlsx)
	require.NoError(t, err)
	numbers := []string{"+41798284651", "+33612345678", "+4915123456789"}
	require.NoError(t, emulator.WriteResults(f, numbers))
	require.NoError(t, f.Close())
	for _, ext := range []string{".parquet", ".arrow", ".csv"} {
		code, _, stderr := cli(t, "", "convert", xlsx, "--out", filepath.Join(dir, "p"+ext))
		require.Equal(t, 0, code, stderr)
	}

	// A syntax error shows DuckDB's message and where, and exits 1.
	code, _, stderr := cli(t, "", "sql", "--from", filepath.Join(dir, "p.parquet"), "SELECT number FORM profiles")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "Parser Error")
	require.Contains(t, stderr, "LINE 1: SELECT number FORM profiles")
	require.Contains(t, stderr, "^")

	for _, ext := range []string{".parquet", ".arrow", ".csv"} {
		code, stdout, stderr := cli(t, "", "sql", "--from", filepath.Join(dir, "p"+ext), "--format", "csv",
			"SELECT number, status, whatsapp, avatar FROM profiles ORDER BY number")
		require.Equal(t, 0, code, stderr)
		recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
		require.NoError(t, err, ext)
		require.Equal(t, []string{"number", "status", "whatsapp", "avatar"}, recs[0])
		require.Len(t, recs, 4, ext)
		for _, r := range recs[1:] {
			p := emulator.Profile(r[0])
			require.Equal(t, p.Avatar, r[3], ext)
		}
	}
	// The query from stdin; json.
	code, stdout, stderr := cli(t, "SELECT count(*) AS n FROM coverage_by_country", "sql", "--from", filepath.Join(dir, "p.arrow"), "--format", "json")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "[\n{\"n\":3}\n]\n", stdout)
	// A table cut to the width.
	t.Setenv("COLUMNS", "30")
	code, stdout, _ = cli(t, "", "sql", "--from", filepath.Join(dir, "p.arrow"), "SELECT * FROM profiles")
	require.Equal(t, 0, code)
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		require.LessOrEqual(t, len([]rune(l)), 30, l)
	}
}

func TestCheckDuckDBRefusesBadFiles(t *testing.T) {
	sb, url := fastSandbox(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "n.txt")
	writeLines(t, in, []string{"+41798284651"})
	bad := filepath.Join(dir, "bad.duckdb")
	require.NoError(t, os.WriteFile(bad, []byte(strings.Repeat("not a database ", 1000)), 0o600))
	for _, flag := range []string{"--out", "--cache"} {
		code, _, stderr := cli(t, "", "check", in, flag, bad, "--api-url", url, "--api-key", emulator.DefaultAPIKey, "--user-id", "u1", "--state", filepath.Join(dir, "s"))
		require.Equal(t, 2, code, stderr)
		require.Contains(t, stderr, bad)
		require.Contains(t, stderr, "not a DuckDB database")
	}
	require.Zero(t, sb.Stats().Charged)
}
