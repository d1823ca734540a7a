package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
)

const pseudonymKey = "a pseudonymisation key of more than 32 bytes"

// keyFile writes the key as a user would: with a trailing newline, 0600.
func keyFile(t *testing.T, dir, key string) string {
	t.Helper()
	path := filepath.Join(dir, "pseudonym.key")
	require.NoError(t, os.WriteFile(path, []byte(key+"\n"), 0o600))
	return path
}

// pseudonym is HMAC-SHA-256 of the E.164 number under the key, in lower-case
// hex: what a user computes to check one, or to join another table to ours.
func pseudonym(key, e164 string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(e164))
	return hex.EncodeToString(m.Sum(nil))
}

func sandboxArgs(url string) []string {
	return []string{"--api-url", url, "--api-key", emulator.DefaultAPIKey, "--user-id", "u1", "--poll-floor", "10ms", "--export-min", "0"}
}

// TestPseudonymizeEveryOutput: with --pseudonymize, every output holds the
// numbers' HMAC-SHA-256 under the key and never a number in clear: the
// profiles in each format, the rejects, the enriched view (whose input
// phone column is replaced too) and a DuckDB database.
func TestPseudonymizeEveryOutput(t *testing.T) {
	sb, url := fastSandbox(t)
	dir := t.TempDir()
	key := keyFile(t, dir, pseudonymKey)
	in := filepath.Join(dir, "crm.csv")
	require.NoError(t, os.WriteFile(in, []byte(crmCSV), 0o600))
	numbers := []string{"+41798284651", "+33612345678", "+4915123456789"}
	clear := []string{"798284651", "612345678", "15123456789", "79 828 46 51"}
	ps := map[string]string{}
	for _, n := range numbers {
		ps[pseudonym(pseudonymKey, n)] = n
	}
	noClearNumbers := func(t *testing.T, path string) {
		t.Helper()
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, c := range clear {
			require.NotContains(t, string(b), c, "%s holds a number in clear", path)
		}
	}
	state := filepath.Join(dir, "state")
	check := func(t *testing.T, extra ...string) string {
		t.Helper()
		args := append([]string{"check", in, "--column", "Mobile", "--region", "CH", "--pseudonymize", key, "--state", state}, sandboxArgs(url)...)
		code, stdout, stderr := cli(t, "", append(args, extra...)...)
		require.Equal(t, 0, code, stderr)
		require.Empty(t, stdout)
		require.NotContains(t, stderr, "left out", "a pseudonymised column is not a column left out")
		return stderr
	}

	for _, ext := range []string{".csv", ".jsonl", ".arrow", ".parquet", ".xlsx"} {
		t.Run("profiles"+ext, func(t *testing.T) {
			out := filepath.Join(dir, "profiles"+ext)
			check(t, "--out", out)
			rows := readBack(t, out)
			require.Len(t, rows, 3)
			got := map[string]bool{}
			for _, r := range rows {
				n, ok := ps[r["number"]]
				require.True(t, ok, "%q is not a number's pseudonym", r["number"])
				got[n] = true
				p := emulator.Profile(n)
				require.Equal(t, p.Avatar, r["avatar"], "the profile is the number's")
			}
			require.Len(t, got, 3)
			if ext != ".parquet" && ext != ".xlsx" { // compressed: read back above
				noClearNumbers(t, out)
			}
		})
		t.Run("enriched"+ext, func(t *testing.T) {
			out := filepath.Join(dir, "enriched"+ext)
			check(t, "--enrich", "--out", out)
			rows := readBack(t, out)
			require.Len(t, rows, 7)
			type row struct{ Name, Mobile, Email, Number, Reason string }
			var got []row
			for _, r := range rows {
				got = append(got, row{r["Name"], r["Mobile"], r["Email"], r["number"], r["reject_reason"]})
			}
			anna, ben, eve := pseudonym(pseudonymKey, "+41798284651"), pseudonym(pseudonymKey, "+33612345678"), pseudonym(pseudonymKey, "+4915123456789")
			require.Equal(t, []row{
				{"Anna", anna, "anna@example.ch", anna, ""},
				{"Ben", ben, "ben@example.fr", ben, ""},
				{"Cleo", anna, "cleo@example.ch", anna, ""},
				{"Dan", "not a phone", "dan@example.com", "", "not a number"},
				{"", "", "", "", "blank"},
				{"Eve", eve, "", eve, ""},
				{"Finn", "", "finn@example.com", "", "empty"},
			}, got)
			if ext != ".parquet" && ext != ".xlsx" {
				noClearNumbers(t, out)
			}
		})
	}
	t.Run("rejects", func(t *testing.T) {
		rej := filepath.Join(dir, "rejects.csv")
		check(t, "--out", filepath.Join(dir, "p.csv"), "--rejects", rej)
		rows := readCSV(t, rej)
		byRow := map[string]map[string]string{}
		for _, r := range rows {
			byRow[r["row"]] = r
		}
		require.Equal(t, pseudonym(pseudonymKey, "+41798284651"), byRow["4"]["value"], "a duplicate's value is its number's pseudonym")
		require.Equal(t, "duplicate", byRow["4"]["reason"])
		require.Equal(t, "not a phone", byRow["5"]["value"], "a value without a digit holds no number")
		noClearNumbers(t, rej)
	})
	t.Run("duckdb", func(t *testing.T) {
		db := filepath.Join(dir, "p.duckdb")
		check(t, "--out", db)
		check(t, "--enrich", "--out", db)
		code, stdout, stderr := cli(t, "", "sql", "--db", db, "--format", "csv",
			"SELECT (SELECT string_agg(number, ',' ORDER BY number) FROM profiles) AS p, (SELECT string_agg(coalesce(\"Mobile\", ''), ',' ORDER BY input_row) FROM enriched) AS e, (SELECT string_agg(value, ',' ORDER BY \"row\") FROM rejects) AS r")
		require.Equal(t, 0, code, stderr)
		for _, c := range clear {
			require.NotContains(t, stdout, c)
		}
		for p := range ps {
			require.Contains(t, stdout, p)
		}
	})
	require.Len(t, sb.Tasks(), 1, "the runs resume one job: pseudonyms are not part of its identity")
}

// TestPseudonymsAreStable: two runs apart, on separate journals, give the
// same pseudonym for the same number, so their outputs join; another key
// gives other pseudonyms.
func TestPseudonymsAreStable(t *testing.T) {
	_, url := fastSandbox(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "n.txt")
	writeLines(t, in, []string{"+41798284651", "+33612345678"})
	first := keyFile(t, dir, pseudonymKey)
	otherDir := t.TempDir()
	other := keyFile(t, otherDir, pseudonymKey+" but another")
	numbers := func(key, state string) map[string]bool {
		out := filepath.Join(t.TempDir(), "p.csv")
		code, _, stderr := cli(t, "", append([]string{"check", in, "--pseudonymize", key, "--out", out, "--state", filepath.Join(dir, state)}, sandboxArgs(url)...)...)
		require.Equal(t, 0, code, stderr)
		got := map[string]bool{}
		for _, r := range readCSV(t, out) {
			got[r["number"]] = true
		}
		return got
	}
	a, b := numbers(first, "s1"), numbers(first, "s2")
	require.Equal(t, a, b)
	require.Equal(t, map[string]bool{pseudonym(pseudonymKey, "+41798284651"): true, pseudonym(pseudonymKey, "+33612345678"): true}, a)
	c := numbers(other, "s3")
	for n := range c {
		require.False(t, a[n], "another key gives another pseudonym")
	}
}

// TestPseudonymizeRefusesWeakKeys: a key file that is short, readable by
// others or missing stops the run before any call, exit 2.
func TestPseudonymizeRefusesWeakKeys(t *testing.T) {
	_, calls, url := countingSandbox(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "n.txt")
	writeLines(t, in, []string{"+41798284651"})
	short := filepath.Join(dir, "short.key")
	require.NoError(t, os.WriteFile(short, []byte(strings.Repeat("k", 31)+"\n"), 0o600))
	open := filepath.Join(dir, "open.key")
	require.NoError(t, os.WriteFile(open, []byte(pseudonymKey), 0o600))
	require.NoError(t, os.Chmod(open, 0o644))
	for _, c := range []struct{ key, want string }{
		{short, "31 bytes, want at least 32"},
		{open, "mode 0644 lets others read it; make it private (chmod 600 " + open + ")"},
		{filepath.Join(dir, "missing.key"), "no such file"},
	} {
		for _, cmd := range []string{"check", "download", "convert"} {
			args := []string{cmd, in, "--pseudonymize", c.key, "--out", filepath.Join(dir, "o.csv")}
			switch cmd {
			case "check":
				args = append(append(args, "--state", filepath.Join(dir, "s")), sandboxArgs(url)...)
			case "download":
				args[1] = "task-1"
				args = append(args, "--api-url", url, "--api-key", emulator.DefaultAPIKey, "--user-id", "u1")
			}
			code, _, stderr := cli(t, "", args...)
			require.Equal(t, 2, code, "%s %s: %s", cmd, c.key, stderr)
			require.Contains(t, stderr, "--pseudonymize: ")
			require.Contains(t, stderr, c.want)
			require.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %s", stderr)
		}
	}
	require.Zero(t, calls.Load(), "nothing is called for a run that is refused")
	_, err := os.Stat(filepath.Join(dir, "o.csv"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestDropColumns: --drop leaves the named columns out of every output, and
// an unknown column or number is refused before any call.
func TestDropColumns(t *testing.T) {
	sb, url := fastSandbox(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "crm.csv")
	require.NoError(t, os.WriteFile(in, []byte(crmCSV), 0o600))
	drop := "gender,age_min,age_max,hair_color"
	state := filepath.Join(dir, "state")
	run := func(t *testing.T, extra ...string) {
		t.Helper()
		args := append([]string{"check", in, "--column", "Mobile", "--region", "CH", "--drop", drop, "--state", state}, sandboxArgs(url)...)
		code, _, stderr := cli(t, "", append(args, extra...)...)
		require.Equal(t, 0, code, stderr)
		require.NotContains(t, stderr, "left out", "a dropped column is not news")
	}
	for _, ext := range []string{".csv", ".jsonl", ".arrow", ".parquet", ".xlsx"} {
		for _, enrich := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s enrich=%v", ext, enrich), func(t *testing.T) {
				out := filepath.Join(dir, fmt.Sprintf("out-%v%s", enrich, ext))
				extra := []string{"--out", out}
				if enrich {
					extra = append(extra, "--enrich")
				}
				run(t, extra...)
				rows := readBack(t, out)
				require.NotEmpty(t, rows)
				for _, r := range rows {
					for _, col := range strings.Split(drop, ",") {
						require.NotContains(t, r, col)
					}
					require.Contains(t, r, "number")
					require.Contains(t, r, "category", "the other columns stay")
				}
				text := outputText(t, out)
				for _, col := range strings.Split(drop, ",") {
					require.NotContains(t, text, col)
				}
			})
		}
	}
	t.Run("duckdb", func(t *testing.T) {
		db := filepath.Join(dir, "p.duckdb")
		run(t, "--out", db)
		code, stdout, stderr := cli(t, "", "sql", "--db", db, "--format", "csv", "SELECT count(*) AS n, count(gender) + count(age_min) + count(age_max) + count(hair_color) AS kept FROM profiles")
		require.Equal(t, 0, code, stderr)
		require.Equal(t, "n,kept\n3,0\n", stdout, "the table keeps its columns (runs merge into it), empty")
	})
	require.Len(t, sb.Tasks(), 1)

	charged := sb.Stats().Charged
	for _, c := range []struct{ drop, want string }{
		{"gendre", `--drop: cannot drop "gendre": no such column; the columns are country, status, whatsapp, avatar, category, gender, age_min, age_max, hair_color, task_id, checked_at`},
		{"number", `--drop: column "number" is the key and cannot be dropped; to hide the numbers, pseudonymise them (--pseudonymize KEYFILE)`},
		{"skin_color", `cannot drop "skin_color": no such column`},
	} {
		code, _, stderr := cli(t, "", append([]string{"check", in, "--drop", c.drop, "--out", filepath.Join(dir, "x.csv"), "--state", state}, sandboxArgs(url)...)...)
		require.Equal(t, 2, code, stderr)
		require.Contains(t, stderr, c.want)
	}
	require.Equal(t, charged, sb.Stats().Charged, "a refused --drop calls nothing")
}

// TestPseudonymizedCache: a DuckDB file written with --pseudonymize serves
// a pseudonymised run as a cache; a run of another form (numbers in clear,
// another key) is refused before any call, since none of its lookups would
// match and every number would be paid for again.
func TestPseudonymizedCache(t *testing.T) {
	sb, url := fastSandbox(t)
	dir := t.TempDir()
	key := keyFile(t, dir, pseudonymKey)
	otherKey := keyFile(t, t.TempDir(), pseudonymKey+" but another")
	db := filepath.Join(dir, "p.duckdb")
	a := filepath.Join(dir, "a.txt")
	writeLines(t, a, swissNumbers(0, 30))
	code, _, stderr := cli(t, "", append([]string{"check", a, "--pseudonymize", key, "--out", db, "--state", filepath.Join(dir, "s1")}, sandboxArgs(url)...)...)
	require.Equal(t, 0, code, stderr)

	b := filepath.Join(dir, "b.txt")
	writeLines(t, b, append(swissNumbers(10, 20), swissNumbers(500, 5)...))
	before := sb.Uploads()
	out := filepath.Join(dir, "b.csv")
	code, _, stderr = cli(t, "", append([]string{"check", b, "--pseudonymize", key, "--cache", db, "--out", out, "--state", filepath.Join(dir, "s2")}, sandboxArgs(url)...)...)
	require.Equal(t, 0, code, stderr)
	uploaded := 0
	for n, c := range sb.Uploads() {
		if c > before[n] {
			uploaded++
			require.GreaterOrEqual(t, n, "+41798200500", "a cached number was uploaded again")
		}
	}
	require.Equal(t, 5, uploaded)
	rows := readCSV(t, out)
	require.Len(t, rows, 25)
	for _, r := range rows {
		require.Len(t, r["number"], 64, "cached rows are pseudonyms too, not pseudonyms of pseudonyms")
	}
	want := map[string]bool{}
	for _, n := range append(swissNumbers(10, 20), swissNumbers(500, 5)...) {
		want[pseudonym(pseudonymKey, n)] = true
	}
	for _, r := range rows {
		require.True(t, want[r["number"]], r["number"])
	}

	charged := sb.Stats().Charged
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--cache", db}, "holds pseudonymised numbers (key id "},
		{[]string{"--cache", db, "--pseudonymize", otherKey}, "holds numbers pseudonymised with another key"},
		{[]string{"--out", db}, "holds pseudonymised numbers"},
	} {
		args := append([]string{"check", b, "--state", filepath.Join(dir, "s3")}, c.args...)
		code, _, stderr := cli(t, "", append(args, sandboxArgs(url)...)...)
		require.Equal(t, 2, code, stderr)
		require.Contains(t, stderr, c.want)
	}
	clearDB := filepath.Join(dir, "clear.duckdb")
	code, _, stderr = cli(t, "", append([]string{"check", a, "--out", clearDB, "--state", filepath.Join(dir, "s1")}, sandboxArgs(url)...)...)
	require.Equal(t, 0, code, stderr)
	charged = sb.Stats().Charged
	code, _, stderr = cli(t, "", append([]string{"check", b, "--pseudonymize", key, "--cache", clearDB, "--state", filepath.Join(dir, "s4")}, sandboxArgs(url)...)...)
	require.Equal(t, 2, code, stderr)
	require.Contains(t, stderr, "holds numbers in clear")
	require.Equal(t, charged, sb.Stats().Charged, "refused before any call")
}

// TestConvertPseudonymize: convert and download apply the same policy, and
// converting a pseudonymised table again changes nothing.
func TestConvertPseudonymize(t *testing.T) {
	dir := t.TempDir()
	key := keyFile(t, dir, pseudonymKey)
	xlsx := filepath.Join(dir, "results.xlsx")
	f, err := os.Create(xlsx)
	require.NoError(t, err)
	require.NoError(t, emulator.WriteResults(f, []string{"+41798284651", "+33612345678"}))
	require.NoError(t, f.Close())
	once := filepath.Join(dir, "once.parquet")
	code, _, stderr := cli(t, "", "convert", xlsx, "--pseudonymize", key, "--drop", "gender", "--out", once)
	require.Equal(t, 0, code, stderr)
	twice := filepath.Join(dir, "twice.csv")
	code, _, stderr = cli(t, "", "convert", once, "--pseudonymize", key, "--drop", "gender", "--out", twice)
	require.Equal(t, 0, code, stderr)
	rows := readCSV(t, twice)
	require.Len(t, rows, 2)
	got := map[string]bool{}
	for _, r := range rows {
		got[r["number"]] = true
		require.NotContains(t, r, "gender")
	}
	require.Equal(t, map[string]bool{pseudonym(pseudonymKey, "+41798284651"): true, pseudonym(pseudonymKey, "+33612345678"): true}, got)
}
