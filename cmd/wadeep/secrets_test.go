package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
	"github.com/wadeep/wadeep/internal/secrettest"
)

// The tests here give the real wadeep binary an API key in each of the
// ways it takes one, run every command on the sandbox over loopback, under
// every failure it has (a refused key, lasting 500s, 429s, cut downloads,
// lost creations, an upstream that echoes the key, kill -9 and Ctrl-C),
// and look for the key in every byte the runs wrote: stdout, stderr, and
// every file under a private HOME, XDG dirs, TMPDIR, state directory and
// outputs, read while the run goes on and after it, opened where it is
// compressed (XLSX, Parquet, DuckDB).
//
// wadeep has no verbose or debug flag, nor a log level: stderr (progress,
// summary, errors) is all it says. The progress on a terminal, its most
// talkative form, and Ctrl-C are checked in secrets_unix_test.go.

var (
	secretKeyOnce sync.Once
	secretKey     string
)

// runKey is this test run's API key: random, so nothing fixed in the code
// can pass for it.
func runKey() string {
	secretKeyOnce.Do(func() { secretKey = secrettest.NewKey() })
	return secretKey
}

// keyWay is how a run is given the key.
type keyWay string

const (
	keyFlag     keyWay = "--api-key"
	keyEnv      keyWay = "WADEEP_API_KEY"
	keyFileFlag keyWay = "--api-key-file"
	keyFileEnv  keyWay = "WADEEP_API_KEY_FILE"
)

var keyWays = []keyWay{keyFlag, keyEnv, keyFileFlag, keyFileEnv}

// secretEnv is one sandbox and one private world for wadeep runs.
type secretEnv struct {
	t       *testing.T
	scan    *secrettest.Scanner
	key     string
	way     keyWay
	root    string // HOME, XDG dirs, TMPDIR, work dir, state, outputs: all a run may write
	keyFile string // outside root: it holds the key
	sandbox *emulator.Server
	url     string
	extra   []string // more environment
	runs    int
}

// newSecretEnv serves an instant sandbox that takes the run's key (opts
// may say otherwise), behind wrap if given.
func newSecretEnv(t *testing.T, way keyWay, wrap func(http.Handler) http.Handler, opts ...emulator.Option) *secretEnv {
	t.Helper()
	key := runKey()
	s := emulator.New(append([]emulator.Option{emulator.WithAPIKey(key), emulator.WithSpeed(math.Inf(1)),
		emulator.WithStartDelay(0), emulator.WithExportDelay(0), emulator.WithSeed(5)}, opts...)...)
	var h http.Handler = s
	if wrap != nil {
		h = wrap(s)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	root := t.TempDir()
	for _, d := range []string{"home", "tmp", "xdg/state", "xdg/cache", "xdg/config", "xdg/data", "work", "in", "out"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o700))
	}
	keyFile := filepath.Join(t.TempDir(), "api-key")
	require.NoError(t, os.WriteFile(keyFile, []byte(key+"\n"), 0o600))
	e := &secretEnv{t: t, scan: secrettest.New(key), key: key, way: way, root: root, keyFile: keyFile, sandbox: s, url: ts.URL}
	return e
}

func (e *secretEnv) path(p ...string) string { return filepath.Join(append([]string{e.root}, p...)...) }

// api is the flags of a command that calls the upstream: the URL, the
// user and, for the flag ways, the key.
func (e *secretEnv) api() []string {
	a := []string{"--api-url", e.url, "--user-id", "u1"}
	switch e.way {
	case keyFlag:
		a = append(a, "--api-key", e.key)
	case keyFileFlag:
		a = append(a, "--api-key-file", e.keyFile)
	}
	return a
}

// fastJob is the flags of a quick job on the instant sandbox.
var fastJob = []string{"--poll-floor", "10ms", "--export-min", "0", "--chunk-size", "10"}

func (e *secretEnv) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "WADEEP_") || strings.HasPrefix(k, "XDG_") || k == "HOME" || k == "TMPDIR" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+e.path("home"), "TMPDIR="+e.path("tmp"),
		"XDG_STATE_HOME="+e.path("xdg/state"), "XDG_CACHE_HOME="+e.path("xdg/cache"),
		"XDG_CONFIG_HOME="+e.path("xdg/config"), "XDG_DATA_HOME="+e.path("xdg/data"))
	switch e.way {
	case keyEnv:
		env = append(env, "WADEEP_API_KEY="+e.key)
	case keyFileEnv:
		env = append(env, "WADEEP_API_KEY_FILE="+e.keyFile)
	}
	return append(env, e.extra...)
}

// input writes the numbers file of the tests: 25 Swiss mobiles in a phone
// column, with a name column, a duplicate, junk and a blank, so that every
// output (profiles, rejects, the enriched table) has rows.
func (e *secretEnv) input() string {
	var b strings.Builder
	b.WriteString("phone,name\n")
	for i := 0; i < 25; i++ {
		fmt.Fprintf(&b, "+4179%07d,person %d\n", 1000000+i*37, i)
		switch i {
		case 3:
			b.WriteString("+41791000000,a duplicate\n")
		case 7:
			b.WriteString("not a phone,junk\n")
		case 11:
			b.WriteString(",blank\n")
		}
	}
	p := e.path("in", "numbers.csv")
	require.NoError(e.t, os.WriteFile(p, []byte(b.String()), 0o600))
	return p
}

// secretRun is one finished run.
type secretRun struct {
	code           int
	stdout, stderr string
}

// runningWadeep is a run under way, its files watched.
type runningWadeep struct {
	e              *secretEnv
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	watch          *secrettest.Watcher
	args           []string
	afterExit      func() // once the process is gone, before its output is read
}

func (e *secretEnv) start(args ...string) *runningWadeep {
	e.t.Helper()
	r := &runningWadeep{e: e, args: args}
	r.cmd = exec.Command(wadeepBinary(e.t), args...)
	r.cmd.Env = e.environ()
	r.cmd.Dir = e.path("work")
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	r.watch = e.scan.Watch(e.root)
	require.NoError(e.t, r.cmd.Start())
	return r
}

// run runs wadeep to its end and checks that it wrote the key nowhere.
func (e *secretEnv) run(args ...string) secretRun {
	e.t.Helper()
	return e.start(args...).wait()
}

// wait waits for the run's end (60 s at most) and checks stdout, stderr,
// the files seen while it ran and every file left under the root.
func (r *runningWadeep) wait() secretRun {
	t := r.e.t
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		r.cmd.Process.Kill()
		<-done
		t.Errorf("wadeep %s did not end in 60 s", r.e.scan.Mask([]byte(strings.Join(r.args, " "))))
	}
	if r.afterExit != nil {
		r.afterExit()
	}
	during, seen, rounds := r.watch.Stop()
	res := secretRun{code: r.cmd.ProcessState.ExitCode(), stdout: r.stdout.String(), stderr: r.stderr.String()}
	r.e.runs++
	found := during
	for what, b := range map[string]string{"stdout": res.stdout, "stderr": res.stderr} {
		if f := r.e.scan.Check(what, []byte(b)); f != nil {
			found = append(found, *f)
		}
	}
	after, files, err := r.e.scan.Tree([]secrettest.Decoder{duckdbText}, r.e.root)
	require.NoError(t, err, "reading back what the run left")
	found = append(found, after...)
	left := map[string]bool{}
	filepath.WalkDir(r.e.root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			left[p] = true
		}
		return nil
	})
	gone := 0
	for _, p := range seen {
		if !left[p] {
			gone++
		}
	}
	t.Logf("run %d (exit %d): %d files left, read after the run; %d read while it ran (%d of them gone by its end) in %d rounds",
		r.e.runs, res.code, files, len(seen), gone, rounds)
	if len(found) > 0 {
		var b strings.Builder
		for _, f := range found {
			b.WriteString("\n  " + f.String())
		}
		t.Errorf("the API key (given by %s) was written by wadeep %s:%s\nstderr:\n%s", r.e.way,
			r.e.scan.Mask([]byte(strings.Join(r.args, " "))), b.String(), r.e.scan.Mask([]byte(res.stderr)))
	}
	return res
}

// kill sends SIGKILL: no cleanup runs.
func (r *runningWadeep) kill() { require.NoError(r.e.t, r.cmd.Process.Kill()) }

// duckdbText is every table of a DuckDB database and every view's text:
// its blocks are compressed, so its raw bytes hide strings.
func duckdbText(path string) ([]byte, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	head := make([]byte, 12)
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil || string(head[8:12]) != "DUCK" {
		return nil, false, nil
	}
	// The "duckdb" driver is registered by duckdb-go, which the command
	// links through the harness in a cgo build (the tests' only build).
	db, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY")
	if err != nil {
		return nil, true, err
	}
	defer db.Close()
	var out bytes.Buffer
	var tables [][2]string
	rows, err := db.Query(`SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal`)
	if err != nil {
		return nil, true, err
	}
	for rows.Next() {
		var s, n string
		if err := rows.Scan(&s, &n); err != nil {
			rows.Close()
			return nil, true, err
		}
		tables = append(tables, [2]string{s, n})
	}
	rows.Close()
	views, err := db.Query(`SELECT view_name, sql FROM duckdb_views() WHERE NOT internal`)
	if err != nil {
		return nil, true, err
	}
	for views.Next() {
		var n, q string
		if err := views.Scan(&n, &q); err != nil {
			views.Close()
			return nil, true, err
		}
		fmt.Fprintf(&out, "view %s: %s\n", n, q)
	}
	views.Close()
	for _, tb := range tables {
		fmt.Fprintf(&out, "table %s.%s\n", tb[0], tb[1])
		rows, err := db.Query(fmt.Sprintf(`SELECT * FROM %q.%q`, tb[0], tb[1]))
		if err != nil {
			return nil, true, err
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, true, err
			}
			for _, v := range vals {
				fmt.Fprintf(&out, "%v\t", v)
			}
			out.WriteByte('\n')
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, true, err
		}
	}
	return out.Bytes(), true, nil
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the built wadeep binary some 60 times; skipped with -short (the race run), run by go test ./...")
	}
}

// TestKeyFileNameNotRepeated is the in-process check, run with -short too,
// that a key given where its file's path goes is not echoed back.
func TestKeyFileNameNotRepeated(t *testing.T) {
	key := secrettest.NewKey()
	code, _, stderr := cli(t, "", "status", "T1", "--api-key-file", key, "--user-id", "u")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "--api-key-file: cannot read that file: no such file or directory")
	require.Empty(t, secrettest.New(key).Find([]byte(stderr)), secrettest.New(key).Mask([]byte(stderr)))
}

// TestSecretCheckOutputs runs check into every output format, with
// rejects, the enriched table, the cache, pseudonyms and dropped columns,
// the key given every way, and lists the jobs kept.
func TestSecretCheckOutputs(t *testing.T) {
	skipShort(t)
	t.Parallel()
	for _, tc := range []struct {
		name, out, rejects string
		enrich             bool
		cache              string // "": none; "cache": its own file; "out": the --out database
		way                keyWay
		defaultState       bool   // no --state: the job's directory under XDG_STATE_HOME
		drop               string // --drop, and --pseudonymize with a key file
	}{
		{name: "csv", out: "p.csv", rejects: "r.jsonl", way: keyFlag},
		{name: "jsonl enriched", out: "p.jsonl", rejects: "r.csv", enrich: true, way: keyEnv, defaultState: true},
		{name: "arrow", out: "p.arrow", rejects: "r.parquet", way: keyFileFlag},
		{name: "parquet enriched", out: "p.parquet", rejects: "r.xlsx", enrich: true, way: keyFileEnv},
		{name: "xlsx with cache", out: "p.xlsx", rejects: "r.arrow", cache: "cache", way: keyFlag},
		{name: "duckdb enriched, its own cache", out: "p.duckdb", rejects: "r.csv", enrich: true, cache: "out", way: keyEnv},
		{name: "stdout", way: keyFileEnv, defaultState: true},
		{name: "csv pseudonymized", out: "p.csv", rejects: "r.csv", enrich: true, way: keyEnv, drop: "gender,hair_color"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newSecretEnv(t, tc.way, nil)
			in := e.input()
			args := func(state string) []string {
				a := append([]string{"check", in}, e.api()...)
				a = append(a, fastJob...)
				if tc.out != "" {
					a = append(a, "--out", e.path("out", tc.out))
				}
				if tc.rejects != "" {
					a = append(a, "--rejects", e.path("out", tc.rejects))
				}
				if tc.enrich {
					a = append(a, "--enrich")
				}
				switch tc.cache {
				case "cache":
					a = append(a, "--cache", e.path("out", "cache.duckdb"))
				case "out":
					a = append(a, "--cache", e.path("out", tc.out))
				}
				if !tc.defaultState {
					a = append(a, "--state", e.path(state))
				}
				if tc.drop != "" {
					a = append(a, "--drop", tc.drop, "--pseudonymize", secretPseudonymKey(t))
				}
				return a
			}
			r := e.run(args("state")...)
			require.Equal(t, 0, r.code, e.scan.Mask([]byte(r.stderr)))
			require.Contains(t, r.stderr, "rows in: 28; profiles out: 25")
			if tc.out == "" {
				require.Contains(t, r.stdout, "+41791000000")
			}
			if strings.HasSuffix(tc.out, ".duckdb") {
				// The database was read back, not only its compressed bytes.
				text, ok, err := duckdbText(e.path("out", tc.out))
				require.NoError(t, err)
				require.True(t, ok)
				require.Contains(t, string(text), "+41791000000")
				require.Contains(t, string(text), "person 3")
			}
			if tc.defaultState {
				jobs, _ := filepath.Glob(e.path("xdg/state/wadeep/jobs/*"))
				require.Len(t, jobs, 1, "the journal is in the user's state dir")
				r := e.run("jobs", "--format", "json")
				require.Equal(t, 0, r.code, r.stderr)
				require.Contains(t, r.stdout, filepath.Base(jobs[0]))
			}
			if tc.cache != "" {
				// Again: every number is served from the cache, nothing
				// uploaded, the key still read and given to the client.
				r = e.run(args("state2")...)
				require.Equal(t, 0, r.code, e.scan.Mask([]byte(r.stderr)))
				require.Contains(t, r.stderr, "25 numbers served")
			}
		})
	}
}

// secretPseudonymKey is a key file for --pseudonymize, outside the run's root:
// it is another secret, not the one searched for.
func secretPseudonymKey(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "pseudonym.key")
	require.NoError(t, os.WriteFile(p, []byte(secrettest.NewKey()+secrettest.NewKey()), 0o600))
	return p
}

// TestSecretSteps runs submit, status, download, convert, sql and a dry
// run, the key in the environment where a command takes none. The demo is
// left out: it gives its own sandbox's key with --api-key, which wins over
// the environment, so no key of the user's can reach it; and its fixed
// delays take 3 s.
func TestSecretSteps(t *testing.T) {
	skipShort(t)
	t.Parallel()
	t.Run("submit status download", func(t *testing.T) {
		t.Parallel()
		// Every result transfer is cut once: download fetches it again.
		e := newSecretEnv(t, keyEnv, nil, emulator.WithCutDownloads(1))
		in := e.input()
		r := e.run(append([]string{"submit", in, "--state", e.path("state"), "--chunk-size", "10"}, e.api()...)...)
		require.Equal(t, 0, r.code, r.stderr)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		require.Len(t, lines, 3)
		task := strings.Fields(lines[0])[1]
		r = e.run(append([]string{"status", task}, e.api()...)...)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, `"result_url"`)
		for _, out := range []string{"d.parquet", "d.xlsx", "d.csv"} {
			r = e.run(append([]string{"download", task, "--out", e.path("out", out)}, e.api()...)...)
			require.Equal(t, 0, r.code, r.stderr)
			require.Contains(t, r.stderr, "converted 10 profile rows")
		}
		require.Positive(t, e.sandbox.Stats().CutDownloads)
		// check picks the submitted tasks up.
		r = e.run(append(append([]string{"check", in, "--state", e.path("state"), "--out", e.path("out", "p.csv")}, e.api()...), fastJob...)...)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stderr, "3 from an earlier run")
	})
	t.Run("dry run", func(t *testing.T) {
		t.Parallel()
		e := newSecretEnv(t, keyFlag, nil)
		e.extra = []string{"WADEEP_API_KEY_FILE=" + e.keyFile}
		r := e.run(append(append([]string{"check", e.input(), "--dry-run", "--out", e.path("out", "p.parquet")}, e.api()...), fastJob...)...)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stderr, "dry run: nothing was called")
		require.Zero(t, e.sandbox.Stats().Charged)
	})
	t.Run("convert and sql", func(t *testing.T) {
		t.Parallel()
		e := newSecretEnv(t, keyEnv, nil)
		e.extra = []string{"WADEEP_API_KEY_FILE=" + e.keyFile}
		xlsx := e.path("in", "results.xlsx")
		f, err := os.Create(xlsx)
		require.NoError(t, err)
		require.NoError(t, emulator.WriteResults(f, []string{"+41798284651", "+33612345678", "+4915123456789"}))
		require.NoError(t, f.Close())
		for _, out := range []string{"c.csv", "c.jsonl", "c.arrow", "c.parquet", "c.xlsx"} {
			r := e.run("convert", xlsx, "--out", e.path("out", out))
			require.Equal(t, 0, r.code, r.stderr)
		}
		r := e.run("convert", e.path("out", "c.parquet"), "--out", e.path("out", "back.jsonl"))
		require.Equal(t, 0, r.code, r.stderr)
		r = e.run("sql", "--from", e.path("out", "c.parquet"), "--format", "json", "SELECT count(*) AS n FROM profiles")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "3")
		// A database of profiles, then SQL over it.
		r = e.run(append(append([]string{"check", e.input(), "--state", e.path("state"), "--out", e.path("out", "p.duckdb")}, e.api()...), fastJob...)...)
		require.Equal(t, 0, r.code, r.stderr)
		r = e.run("sql", "--db", e.path("out", "p.duckdb"), "SELECT number, status FROM profiles LIMIT 3")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "+4179")
	})
}

// echoKey answers every call with code and a body that repeats the
// X-API-Key header and the request line, as a careless upstream's error
// page does. The page's text puts the key across character 200, where
// wadeep cuts an upstream message short.
func echoKey(code int, asJSON bool) func(http.Handler) http.Handler {
	return func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := r.Header.Get("X-API-Key")
			if asJSON {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(code)
				fmt.Fprintf(w, `{"error":true,"message":%q}`, fmt.Sprintf("refused X-API-Key %s for %s %s", key, r.Method, r.URL))
				return
			}
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(code)
			// The key starts at character 185 of the page's text once its
			// spaces are folded.
			page := fmt.Sprintf("<html><body><h1>Error %d</h1>\n<pre>", code)
			page += strings.Repeat("request headers follow ", 6)
			fmt.Fprintf(w, "%s\nX-API-Key: %s\n%s %s</pre></body></html>", page, key, r.Method, r.URL)
		})
	}
}

// TestSecretFailures runs the commands under every failure the sandbox
// can stage, and a few of the user's own mistakes.
func TestSecretFailures(t *testing.T) {
	skipShort(t)
	t.Parallel()
	// checkArgs is a check of the test input with the env's key.
	checkArgs := func(e *secretEnv, extra ...string) []string {
		a := append([]string{"check", e.input(), "--state", e.path("state"), "--out", e.path("out", "p.parquet"), "--rejects", e.path("out", "r.csv")}, e.api()...)
		return append(append(a, fastJob...), extra...)
	}
	for _, way := range keyWays {
		t.Run("401 given by "+string(way), func(t *testing.T) {
			t.Parallel()
			// The sandbox takes another key: it refuses the one given,
			// which still must not come back.
			e := newSecretEnv(t, way, nil, emulator.WithAPIKey("the-sandbox-takes-another-key"))
			r := e.run(checkArgs(e)...)
			require.Equal(t, 1, r.code)
			require.Contains(t, r.stderr, "401 Unauthorized")
			r = e.run(append([]string{"submit", e.input(), "--state", e.path("state2")}, e.api()...)...)
			require.Equal(t, 1, r.code)
			require.Contains(t, r.stderr, "401 Unauthorized")
			for _, cmd := range [][]string{{"status", "T1"}, {"download", "T1", "--out", e.path("out", "d.csv")}} {
				r = e.run(append(cmd, e.api()...)...)
				require.Equal(t, 1, r.code)
				require.Contains(t, r.stderr, "401 Unauthorized")
			}
		})
	}
	t.Run("lasting 500s", func(t *testing.T) {
		t.Parallel()
		e := newSecretEnv(t, keyFileFlag, nil, emulator.WithFault500(1))
		r := e.run(checkArgs(e, "--timeout", "700ms")...)
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "gave up after 700ms (--timeout)")
		require.Positive(t, e.sandbox.Stats().Errors[500])
	})
	t.Run("lasting 500s on status", func(t *testing.T) {
		t.Parallel()
		e := newSecretEnv(t, keyEnv, nil, emulator.WithFault500(1, emulator.OnStatus))
		r := e.run(checkArgs(e, "--timeout", "700ms")...)
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "gave up after 700ms (--timeout)")
		require.Positive(t, e.sandbox.Stats().Creates)
	})
	t.Run("transient 500s and 429s", func(t *testing.T) {
		t.Parallel()
		e := newSecretEnv(t, keyFileEnv, nil,
			emulator.WithFault(emulator.Fault{Kind: emulator.Fault500, First: 2}),
			emulator.WithFault(emulator.Fault{Kind: emulator.Fault429, On: emulator.OnStatus, First: 1, Delay: time.Millisecond}))
		r := e.run(checkArgs(e)...)
		require.Equal(t, 0, r.code, r.stderr)
		st := e.sandbox.Stats()
		require.Equal(t, 2, st.Errors[500])
		require.Equal(t, 1, st.Errors[429])
		require.Contains(t, r.stderr, "refused or failed calls (free): 3")
	})
	t.Run("cut downloads", func(t *testing.T) {
		t.Parallel()
		e := newSecretEnv(t, keyFlag, nil, emulator.WithCutDownloads(1))
		r := e.run(checkArgs(e, "--enrich")...)
		require.Equal(t, 0, r.code, r.stderr)
		require.Equal(t, 3, e.sandbox.Stats().CutDownloads, "each task's result cut once")
	})
	t.Run("lost creations", func(t *testing.T) {
		t.Parallel()
		// A creation answered 500 after the task was made is retried (the
		// contract calls 500 free); a dropped answer stops the run until
		// the user says to upload again.
		e := newSecretEnv(t, keyEnv, nil,
			emulator.WithFault(emulator.Fault{Kind: emulator.FaultLoseCreate, First: 1, EachTask: true}),
			emulator.WithFault(emulator.Fault{Kind: emulator.FaultDropCreate, First: 1}))
		r := e.run(checkArgs(e, "--parallel", "1")...)
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "task creation answer lost")
		r = e.run(checkArgs(e, "--parallel", "1", "--resubmit-lost")...)
		require.Equal(t, 0, r.code, r.stderr)
		require.GreaterOrEqual(t, e.sandbox.Stats().LostCreates, 3)
	})
	t.Run("an upstream that echoes the key", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			code   int
			asJSON bool
			want   string
		}{{401, true, "401 Unauthorized: refused X-API-Key ***"}, {400, false, "400 Bad Request"}, {404, true, "404 Not Found: refused X-API-Key ***"}} {
			e := newSecretEnv(t, keyFileFlag, echoKey(tc.code, tc.asJSON))
			r := e.run(checkArgs(e)...)
			require.Equal(t, 1, r.code)
			require.Contains(t, r.stderr, tc.want)
			r = e.run(append([]string{"status", "T1"}, e.api()...)...)
			require.Equal(t, 1, r.code)
			require.Contains(t, r.stderr, tc.want)
		}
		// Lasting 500s whose page repeats the key, until --timeout.
		e := newSecretEnv(t, keyEnv, echoKey(500, false))
		r := e.run(checkArgs(e, "--timeout", "600ms")...)
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "--timeout")
	})
	t.Run("the key in the API URL", func(t *testing.T) {
		t.Parallel()
		e := newSecretEnv(t, keyEnv, nil)
		base := e.url + "/wa/api/deep"
		// A key in the query string is dropped, never sent or echoed.
		r := e.run(append([]string{"check", e.input(), "--state", e.path("state"), "--out", e.path("out", "p.csv"),
			"--api-url", base + "?api_key=" + e.key, "--user-id", "u1"}, fastJob...)...)
		require.Equal(t, 0, r.code, r.stderr)
		for _, tc := range []struct {
			url  string
			code int
			want string
		}{
			{withUser(e.url, e.key), 2, "must not carry credentials"},
			{"ftp://example.com/?key=" + e.key, 2, "want https://host[/path]"},
			{"http://example.com/?key=" + e.key, 2, "plain http is allowed only for a loopback sandbox"},
			{"http://[" + e.key, 2, "<unparsable URL>"},
		} {
			r := e.run("status", "T1", "--api-url", tc.url, "--user-id", "u1")
			require.Equal(t, tc.code, r.code, r.stderr)
			require.Contains(t, r.stderr, tc.want)
		}
	})
	t.Run("no answer", func(t *testing.T) {
		t.Parallel()
		// Calls that time out, and an API that is not there.
		e := newSecretEnv(t, keyFileEnv, nil, emulator.WithLatency(5*time.Second, 1, emulator.OnCreate))
		r := e.run(checkArgs(e, "--call-timeout", "200ms", "--timeout", "3s")...)
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "Client.Timeout exceeded")
		ln := httptest.NewServer(http.NotFoundHandler())
		ln.Close() // its port now refuses connections
		r = e.run("check", e.input(), "--state", e.path("state2"), "--api-url", ln.URL, "--user-id", "u1", "--timeout", "500ms", "--out", e.path("out", "x.csv"))
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "--timeout")
	})
	t.Run("the key given as a key file", func(t *testing.T) {
		t.Parallel()
		// A user who puts the key where its file's path goes: the path
		// does not exist, and the error must not repeat it.
		e := newSecretEnv(t, keyFlag, nil)
		r := e.run(append([]string{"status", "T1", "--api-key-file", e.key}, e.api()[:4]...)...)
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, "--api-key-file")
		e.extra = []string{"WADEEP_API_KEY_FILE=" + e.key}
		r = e.run(append([]string{"status", "T1"}, e.api()[:4]...)...)
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, "WADEEP_API_KEY_FILE")
	})
}

// withUser is raw with user info holding key, escaped as a URL does.
func withUser(raw, key string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	u.User = url.UserPassword("user", key)
	return u.String()
}

// newTrappedEnv is a secretEnv whose sandbox is behind a trap (see
// crash_test.go); release lets the held request go, once.
func newTrappedEnv(t *testing.T, way keyWay) (e *secretEnv, tr *trap, release func()) {
	e = newSecretEnv(t, way, func(h http.Handler) http.Handler {
		tr = &trap{next: h, hit: make(chan struct{}), release: make(chan struct{})}
		return tr
	})
	var once sync.Once
	release = func() { once.Do(func() { close(tr.release) }) }
	t.Cleanup(release) // before the server closes
	return e, tr, release
}

// TestSecretKilled kills wadeep with SIGKILL mid-download and mid-creation,
// and reruns the same command: the partial files a kill leaves, and the
// rerun that resumes from them, hold no key either.
func TestSecretKilled(t *testing.T) {
	skipShort(t)
	t.Parallel()
	for _, tc := range []struct {
		kind    string
		nth     int64
		forward bool
		rerun   []string
	}{
		{kind: "download", nth: 2},
		{kind: "create", nth: 2, forward: true, rerun: []string{"--resubmit-lost"}},
	} {
		t.Run("mid-"+tc.kind, func(t *testing.T) {
			t.Parallel()
			e, tr, release := newTrappedEnv(t, keyFileFlag)
			tr.arm(tc.kind, tc.nth, tc.forward)
			args := append(append([]string{"check", e.input(), "--state", e.path("state"), "--out", e.path("out", "p.xlsx"),
				"--rejects", e.path("out", "r.parquet"), "--parallel", "1"}, e.api()...), fastJob...)
			run := e.start(args...)
			select {
			case <-tr.hit:
			case <-time.After(30 * time.Second):
				run.kill()
				run.wait()
				t.Fatalf("wadeep never reached %s #%d", tc.kind, tc.nth)
			}
			run.kill()
			r := run.wait()
			require.Equal(t, -1, r.code, "killed")
			release()
			if tc.forward {
				require.Eventually(t, func() bool { return e.sandbox.Stats().Creates == int(tc.nth) }, 10*time.Second, 5*time.Millisecond)
			}
			r = e.run(append(args, tc.rerun...)...)
			require.Equal(t, 0, r.code, r.stderr)
			require.Contains(t, r.stderr, "from an earlier run")
		})
	}
}
