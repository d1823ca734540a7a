package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/wadeep/wadeep/emulator"
)

// cli runs the command in process and returns its exit code and output.
func cli(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func fastSandbox(t *testing.T, opts ...emulator.Option) (*emulator.Server, string) {
	t.Helper()
	s := emulator.New(append([]emulator.Option{emulator.WithSpeed(math.Inf(1)), emulator.WithStartDelay(0), emulator.WithExportDelay(0), emulator.WithSeed(3)}, opts...)...)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	var rows []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		rows = append(rows, m)
	}
	return rows
}

// swissNumbers is n valid Swiss mobile numbers from first on.
func swissNumbers(first, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("+417982%05d", first+i)
	}
	return out
}

func writeLines(t *testing.T, path string, lines []string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
}

const numbersTxt = `+41798284651
079 828 46 51
+33612345678

not a phone
+4915123456789
+33 6 12 34 56 78
+12
`

func TestCheckCommand(t *testing.T) {
	sb, url := fastSandbox(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "numbers.txt")
	require.NoError(t, os.WriteFile(in, []byte(numbersTxt), 0o600))
	out, rej := filepath.Join(dir, "out.csv"), filepath.Join(dir, "rej.csv")
	args := []string{"check", in, "--api-url", url, "--api-key", emulator.DefaultAPIKey, "--user-id", "u1",
		"--region", "CH", "--out", out, "--rejects", rej, "--state", filepath.Join(dir, "state"), "--poll-floor", "10ms", "--export-min", "0"}

	code, _, stderr := cli(t, "", args...)
	require.Equal(t, 0, code, stderr)
	require.NotContains(t, stderr, emulator.DefaultAPIKey)
	require.Contains(t, stderr, "rows in: 8; profiles out: 3")
	require.Contains(t, stderr, "rejected: 4 (duplicate 2, not a number 1, too short 1); blank: 1")

	rows := readCSV(t, out)
	var numbers []string
	for _, r := range rows {
		numbers = append(numbers, r["number"])
		require.NotContains(t, r, "skin_color")
		p := emulator.Profile(r["number"])
		if p.Failed {
			require.Equal(t, "failed", r["status"])
		} else {
			require.Equal(t, "checked", r["status"])
			require.Equal(t, map[bool]string{true: "true", false: "false"}[p.WhatsApp], r["whatsapp"])
			require.Equal(t, p.Avatar, r["avatar"])
		}
	}
	require.Equal(t, []string{"+41798284651", "+33612345678", "+4915123456789"}, numbers)

	rejects := readCSV(t, rej)
	require.Equal(t, []map[string]string{
		{"file": in, "row": "2", "value": "079 828 46 51", "reason": "duplicate", "detail": "duplicate of row 1"},
		{"file": in, "row": "5", "value": "not a phone", "reason": "not a number", "detail": "not a phone number"},
		{"file": in, "row": "7", "value": "+33 6 12 34 56 78", "reason": "duplicate", "detail": "duplicate of row 3"},
		{"file": in, "row": "8", "value": "+12", "reason": "too short", "detail": "too short for Switzerland (CH)"},
	}, rejects)

	// The same command again resumes from the journal: no new charge.
	charged := sb.Stats().Charged
	code, _, stderr = cli(t, "", args...)
	require.Equal(t, 0, code, stderr)
	require.Equal(t, charged, sb.Stats().Charged)
	require.Contains(t, stderr, "tasks: 1 (0 created now, 1 from an earlier run); charged calls: 0")
	require.Equal(t, rows, readCSV(t, out))
}

func TestCheckStdinToStdoutJSONL(t *testing.T) {
	_, url := fastSandbox(t)
	dir := t.TempDir()
	code, stdout, stderr := cli(t, "+41798284651\n+33612345678\n", "check", "-", "--api-url", url, "--api-key", emulator.DefaultAPIKey,
		"--user-id", "u1", "--state", filepath.Join(dir, "s"), "--poll-floor", "10ms", "--export-min", "0", "--out", filepath.Join(dir, "o.jsonl"))
	require.Equal(t, 0, code, stderr)
	require.Empty(t, stdout)
	b, err := os.ReadFile(filepath.Join(dir, "o.jsonl"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 2)
	var row map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &row))
	require.Equal(t, "+41798284651", row["number"])
	require.Equal(t, "CH", row["country"])
}

func TestCheckErrors(t *testing.T) {
	_, url := fastSandbox(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "n.txt")
	require.NoError(t, os.WriteFile(in, []byte("+41798284651\n"), 0o600))

	code, _, stderr := cli(t, "", "check", in, "--api-url", url, "--api-key", "wrong-s3cret", "--user-id", "u", "--state", filepath.Join(dir, "s1"))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "401")
	require.NotContains(t, stderr, "s3cret")
	var errLines []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if !strings.HasPrefix(l, "[") { // progress lines start with the bar
			errLines = append(errLines, l)
		}
	}
	require.Len(t, errLines, 1, "one error line: %q", stderr)
	require.True(t, strings.HasPrefix(errLines[0], "wadeep check: "), errLines[0])
	prefixes := 0
	for _, pkg := range []string{"connector:", "arrowconv:", "sink:"} {
		prefixes += strings.Count(errLines[0], pkg)
	}
	require.LessOrEqual(t, prefixes, 1, "no stacked package prefixes: %s", errLines[0])

	code, _, stderr = cli(t, "", "check", in, "--out", filepath.Join(dir, "x.pdf"))
	require.Equal(t, 2, code)
	require.Contains(t, stderr, ".pdf")

	code, _, stderr = cli(t, "", "check", filepath.Join(dir, "missing.txt"), "--api-key", "k", "--user-id", "u")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "missing.txt")

	code, _, _ = cli(t, "", "nosuch")
	require.Equal(t, 2, code)
}

func TestCheckDryRunCallsNothing(t *testing.T) {
	sb, url := fastSandbox(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "n.txt")
	require.NoError(t, os.WriteFile(in, []byte("+41798284651\n+33612345678\n+4915123456789\n"), 0o600))
	code, _, stderr := cli(t, "", "check", in, "--dry-run", "--chunk-size", "2", "--api-url", url)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "chunk 2: 1 number,")
	require.Contains(t, stderr, "least charged calls: 4")
	require.Zero(t, sb.Stats().Charged)
}

func TestConvertCommand(t *testing.T) {
	dir := t.TempDir()
	xlsx := filepath.Join(dir, "results.xlsx")
	f, err := os.Create(xlsx)
	require.NoError(t, err)
	numbers := []string{"+41798284651", "+33612345678", "+4915123456789"}
	require.NoError(t, emulator.WriteResults(f, numbers))
	require.NoError(t, f.Close())

	for _, ext := range []string{".csv", ".jsonl", ".arrow", ".parquet", ".xlsx"} {
		out := filepath.Join(dir, "out"+ext)
		code, _, stderr := cli(t, "", "convert", xlsx, "--out", out)
		require.Equal(t, 0, code, stderr)
		st, err := os.Stat(out)
		require.NoError(t, err)
		require.Positive(t, st.Size())
		require.NotContains(t, outputText(t, out), "skin", "skin_color never reaches an output (%s)", ext)
	}
	rows := readCSV(t, filepath.Join(dir, "out.csv"))
	require.Len(t, rows, 3)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "junk.xlsx"), []byte("not a zip"), 0o600))
	code, _, stderr := cli(t, "", "convert", filepath.Join(dir, "junk.xlsx"), "--out", filepath.Join(dir, "j.csv"))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "junk.xlsx")
	_, err = os.Stat(filepath.Join(dir, "j.csv"))
	require.ErrorIs(t, err, os.ErrNotExist, "no output file after a failed convert")
}

func TestStatusAndDownloadCommands(t *testing.T) {
	// Every result transfer is cut once: download fetches it again, as a
	// job does, and leaves no workbook behind.
	sb, url := fastSandbox(t, emulator.WithCutDownloads(1))
	dir := t.TempDir()
	in := filepath.Join(dir, "n.txt")
	require.NoError(t, os.WriteFile(in, []byte("+41798284651\n+33612345678\n"), 0o600))
	api := []string{"--api-url", url, "--api-key", emulator.DefaultAPIKey, "--user-id", "u"}
	code, stdout, stderr := cli(t, "", append([]string{"submit", in, "--state", filepath.Join(dir, "s")}, api...)...)
	require.Equal(t, 0, code, stderr)
	fields := strings.Fields(stdout)
	require.Len(t, fields, 2)
	task := fields[1]

	time.Sleep(10 * time.Millisecond)
	code, stdout, stderr = cli(t, "", append([]string{"status", task}, api...)...)
	require.Equal(t, 0, code, stderr)
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &st))
	require.Equal(t, task, st["task_id"])
	require.Equal(t, "exported", st["status"])
	require.NotContains(t, st["result_url"], "token=", "signed query strings are redacted")

	for _, ext := range []string{".parquet", ".xlsx"} {
		out := filepath.Join(dir, "r"+ext)
		code, _, stderr = cli(t, "", append([]string{"download", task, "--out", out}, api...)...)
		require.Equal(t, 0, code, stderr)
		require.Contains(t, stderr, "converted 2 profile rows")
		require.NotContains(t, outputText(t, out), "skin", "the upstream's file is never saved as is")
		left, _ := filepath.Glob(filepath.Join(dir, ".*download*"))
		require.Empty(t, left, "no temp file left beside the output")
	}
	require.Positive(t, sb.Stats().CutDownloads)
}

func TestKeyNeverWritten(t *testing.T) {
	const key = "k-9f2c-TOPSECRET"
	_, url := fastSandbox(t, emulator.WithAPIKey(key))
	dir := t.TempDir()
	in := filepath.Join(dir, "n.txt")
	require.NoError(t, os.WriteFile(in, []byte("+41798284651\n+33612345678\nbad\n"), 0o600))
	state := filepath.Join(dir, "state")
	code, stdout, stderr := cli(t, "", "check", in, "--api-url", url, "--api-key", key, "--user-id", "u",
		"--state", state, "--poll-floor", "10ms", "--export-min", "0", "--out", filepath.Join(dir, "o.arrow"), "--rejects", filepath.Join(dir, "r.jsonl"))
	require.Equal(t, 0, code, stderr)
	require.NotContains(t, stdout+stderr, key)
	// Nothing the run left on disk holds the key: journal, results, outputs.
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		require.NoError(t, err)
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NotContains(t, string(b), key, path)
		}
		return nil
	})
	require.NoError(t, err)
}

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEmulateCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"emulate", "--addr", "127.0.0.1:0", "--key", "emu-key-1", "--speed", "Inf",
			"--start-delay", "0s", "--export-delay", "0s"}, strings.NewReader(""), io.Discard, &stderr)
	}()
	var url string
	require.Eventually(t, func() bool {
		m := regexp.MustCompile(`--api-url (\S+)`).FindStringSubmatch(stderr.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}, 10*time.Second, 10*time.Millisecond)

	dir := t.TempDir()
	in := filepath.Join(dir, "n.txt")
	require.NoError(t, os.WriteFile(in, []byte("+41798284651\n"), 0o600))
	code, _, errOut := cli(t, "", "check", in, "--api-url", url, "--api-key", "emu-key-1", "--user-id", "u",
		"--state", filepath.Join(dir, "s"), "--poll-floor", "10ms", "--export-min", "0", "--out", filepath.Join(dir, "o.csv"))
	require.Equal(t, 0, code, errOut)

	cancel()
	require.Equal(t, 0, <-done)
	require.Contains(t, stderr.String(), "sandbox stopped: tasks: 1; ")
}

// outputText is an output file's text, lower case: an XLSX file's cells
// (its bytes are compressed), any other file's bytes.
func outputText(t *testing.T, path string) string {
	t.Helper()
	if strings.HasSuffix(path, ".xlsx") {
		f, err := excelize.OpenFile(path)
		require.NoError(t, err)
		defer f.Close()
		rows, err := f.GetRows(f.GetSheetList()[0])
		require.NoError(t, err)
		require.NotEmpty(t, rows)
		var b strings.Builder
		for _, r := range rows {
			b.WriteString(strings.Join(r, ",") + "\n")
		}
		return strings.ToLower(b.String())
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.ToLower(string(b))
}
