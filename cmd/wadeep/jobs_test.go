package main

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/connector"
	"github.com/wadeep/wadeep/emulator"
)

// numberLines is n valid Swiss mobile numbers from first on, a line each.
func numberLines(first, n int) string { return strings.Join(swissNumbers(first, n), "\n") + "\n" }

func writeNumbers(t *testing.T, path string, first, n int) {
	t.Helper()
	writeLines(t, path, swissNumbers(first, n))
}

// jobsEnv runs check against a fast sandbox with the journals in their
// default place, under a private XDG_STATE_HOME.
type jobsEnv struct {
	t    *testing.T
	sb   *emulator.Server
	url  string
	dir  string
	jobs string // the jobs directory
}

func newJobsEnv(t *testing.T) *jobsEnv {
	sb, url := fastSandbox(t)
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	return &jobsEnv{t: t, sb: sb, url: url, dir: dir, jobs: filepath.Join(dir, "state", "wadeep", "jobs")}
}

func (e *jobsEnv) api() []string {
	return []string{"--api-url", e.url, "--api-key", emulator.DefaultAPIKey, "--user-id", "u", "--poll-floor", "10ms", "--export-min", "0"}
}

// input writes n Swiss numbers from first on to name.
func (e *jobsEnv) input(name string, first, n int) string {
	path := filepath.Join(e.dir, name)
	writeNumbers(e.t, path, first, n)
	return path
}

func (e *jobsEnv) check(in string, extra ...string) string {
	e.t.Helper()
	args := append(append([]string{"check", in, "--out", filepath.Join(e.dir, filepath.Base(in)+".csv")}, e.api()...), extra...)
	code, _, stderr := cli(e.t, "", args...)
	require.Equal(e.t, 0, code, stderr)
	return stderr
}

// listed is "wadeep jobs --format csv" as rows by column name.
func (e *jobsEnv) listed(extra ...string) []map[string]string {
	e.t.Helper()
	code, stdout, stderr := cli(e.t, "", append([]string{"jobs", "--format", "csv"}, extra...)...)
	require.Equal(e.t, 0, code, stderr)
	recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	require.NoError(e.t, err)
	require.Equal(e.t, jobsColumns, recs[0])
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

// setStarted rewrites when a job started, as if it ran that long ago.
func (e *jobsEnv) setStarted(id string, ago time.Duration) {
	e.t.Helper()
	path := filepath.Join(e.jobs, id, "job.json")
	b, err := os.ReadFile(path)
	require.NoError(e.t, err)
	var job map[string]any
	require.NoError(e.t, json.Unmarshal(b, &job))
	job["started_at"] = time.Now().Add(-ago).UTC().Format(time.RFC3339Nano)
	b, err = json.Marshal(job)
	require.NoError(e.t, err)
	require.NoError(e.t, os.WriteFile(path, b, 0o600))
}

func TestJobsListsAndRemoves(t *testing.T) {
	e := newJobsEnv(t)
	code, _, stderr := cli(t, "", "jobs")
	require.Equal(t, 0, code)
	require.Equal(t, "no jobs in "+e.jobs+"\n", stderr, "no state directory yet")

	a, b := e.input("a.txt", 0, 30), e.input("b.txt", 100, 30)
	e.check(a)
	e.check(b)
	// Tasks created and never watched: paid for, not downloaded.
	code, _, stderr = cli(t, "", append([]string{"submit", e.input("c.txt", 200, 30)}, e.api()[:6]...)...)
	require.Equal(t, 0, code, stderr)

	rows := e.listed()
	require.Len(t, rows, 3)
	var ids []string
	for i, r := range rows {
		ids = append(ids, r["id"])
		require.Regexp(t, `^[0-9a-f]{16}$`, r["id"])
		require.DirExists(t, filepath.Join(e.jobs, r["id"]))
		require.Equal(t, filepath.Join(e.jobs, r["id"]), r["dir"])
		require.Equal(t, []string{a, b, filepath.Join(e.dir, "c.txt")}[i], r["inputs"], "sorted by start")
		started, err := time.Parse(time.RFC3339, r["started"])
		require.NoError(t, err)
		require.WithinDuration(t, time.Now(), started, time.Minute)
		require.NotEqual(t, "0", r["size_bytes"])
	}
	require.Equal(t, "done", rows[0]["state"])
	require.Equal(t, "done", rows[1]["state"])
	require.Equal(t, "incomplete: 0 of 1 chunks downloaded", rows[2]["state"])
	require.Equal(t, "1", rows[2]["pending"])

	code, stdout, _ := cli(t, "", "jobs")
	require.Equal(t, 0, code)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 6, stdout)
	require.Regexp(t, `^id\s+started\s+size\s+state\s+inputs$`, lines[0])
	require.Regexp(t, `^`+ids[0]+`\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+\d+\.\d kB\s+done\s+`+regexp.QuoteMeta(a)+`$`, lines[2])
	require.Contains(t, lines[4], "incomplete: 0 of 1 chunks downloaded")
	require.Regexp(t, `^\(3 jobs, \d+\.\d kB\)$`, lines[5])

	code, stdout, _ = cli(t, "", "jobs", "--format", "json")
	require.Equal(t, 0, code)
	var js []jobJSON
	require.NoError(t, json.Unmarshal([]byte(stdout), &js))
	require.Len(t, js, 3)
	require.Equal(t, []string{b}, js[1].Inputs)
	require.True(t, js[2].Incomplete)
	require.Equal(t, 1, js[0].Kept)

	// rm: unknown ids and incomplete jobs stop it before anything goes.
	code, _, stderr = cli(t, "", "jobs", "rm", ids[0], "nosuch")
	require.Equal(t, 2, code)
	require.Equal(t, `wadeep jobs: no job "nosuch" in `+e.jobs+` ("wadeep jobs" lists them)`+"\n", stderr)
	require.DirExists(t, filepath.Join(e.jobs, ids[0]))
	code, _, stderr = cli(t, "", "jobs", "rm", ids[2])
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "job "+ids[2]+" is incomplete: 0 of 1 chunks downloaded, 1 task paid for and not downloaded")
	require.Contains(t, stderr, "add --force to delete it anyway")
	require.DirExists(t, filepath.Join(e.jobs, ids[2]))

	// A job a run holds is never deleted: exit 1, the others go.
	held, err := connector.ListJobs(e.jobs)
	require.NoError(t, err)
	lockOf := func(dir string) func() {
		// A journal opened by a run in this process holds its lock as
		// another process would: flock locks are per open file.
		plan, err := connector.NewPlan([]connector.Input{{Name: b, R: strings.NewReader(numberLines(100, 30))}}, connector.PlanOptions{})
		require.NoError(t, err)
		client, err := connector.NewClient(e.url, emulator.DefaultAPIKey, "u")
		require.NoError(t, err)
		j, err := connector.OpenJournal(dir, plan, client)
		require.NoError(t, err)
		return func() { j.Close() }
	}
	release := lockOf(held[1].Dir)
	require.Equal(t, "in use", e.listed()[1]["state"])
	code, _, stderr = cli(t, "", "jobs", "rm", ids[0], ids[1])
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, "deleted job "+ids[0]+" ("+a+"; started ")
	require.Contains(t, stderr, "wadeep jobs: job "+ids[1]+" is in use by a running wadeep")
	require.Contains(t, stderr, "deleted 1 job, freed ")
	require.NoDirExists(t, filepath.Join(e.jobs, ids[0]))
	require.DirExists(t, filepath.Join(e.jobs, ids[1]))
	release()

	code, _, stderr = cli(t, "", "jobs", "rm", "--force", ids[2])
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `^deleted job `+ids[2]+` \(.*c\.txt; started .*; incomplete: 0 of 1 chunks downloaded; \d+ B\)\n$`, stderr)
	rows = e.listed()
	require.Len(t, rows, 1)
	require.Equal(t, ids[1], rows[0]["id"])

	// Flags that are not the subcommand's, and other mistakes.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"jobs", "--force"}, "--force: not a flag of the listing"},
		{[]string{"jobs", "rm", "--older-than", "1d", ids[1]}, "--older-than: not a flag of rm"},
		{[]string{"jobs", "prune"}, "prune: want --older-than D"},
		{[]string{"jobs", "prune", "--older-than", "soon"}, `--older-than "soon": want a duration like 30d, 12h or 1d12h`},
		{[]string{"jobs", "rm"}, "rm: want the ids of the jobs to delete"},
		{[]string{"jobs", "list"}, `unknown jobs command "list"`},
		{[]string{"jobs", "--format", "xml"}, `--format "xml": want table, csv or json`},
	} {
		code, _, stderr := cli(t, "", c.args...)
		require.Equal(t, 2, code, "%v: %s", c.args, stderr)
		require.Contains(t, stderr, c.want)
		require.Equal(t, 1, strings.Count(stderr, "\n"), stderr)
	}
	require.DirExists(t, filepath.Join(e.jobs, ids[1]))

	// Elsewhere: --jobs-dir, e.g. the parent of check --state directories.
	e.check(e.input("d.txt", 300, 10), "--state", filepath.Join(e.dir, "mine", "d"))
	code, _, stderr = cli(t, "", "jobs", "--jobs-dir", filepath.Join(e.dir, "mine"), "rm", "x")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `("wadeep jobs --jobs-dir `+filepath.Join(e.dir, "mine")+`" lists them)`)
	rows = e.listed("--jobs-dir", filepath.Join(e.dir, "mine"))
	require.Len(t, rows, 1)
	require.Equal(t, "d", rows[0]["id"])
}

func TestJobsPrune(t *testing.T) {
	e := newJobsEnv(t)
	e.check(e.input("old.txt", 0, 20))
	e.check(e.input("new.txt", 100, 20))
	code, _, stderr := cli(t, "", append([]string{"submit", e.input("unfinished.txt", 200, 20)}, e.api()[:6]...)...)
	require.Equal(t, 0, code, stderr)
	rows := e.listed()
	require.Len(t, rows, 3)
	old, fresh, unfinished := rows[0]["id"], rows[1]["id"], rows[2]["id"]
	e.setStarted(old, 40*24*time.Hour)
	e.setStarted(unfinished, 35*24*time.Hour)

	code, _, stderr = cli(t, "", "jobs", "prune", "--older-than", "30d", "--dry-run")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "would delete job "+old+" (")
	require.Contains(t, stderr, "kept job "+unfinished+": incomplete: 0 of 1 chunks downloaded, 1 task paid for and not downloaded (--include-incomplete deletes it, and what was paid for)")
	require.Regexp(t, `would delete 1 job started more than 30d ago, freeing \d+\.\d kB \(dry run: nothing was deleted\); kept 1 incomplete job\n$`, stderr)
	require.NotContains(t, stderr, fresh)
	require.Len(t, e.listed(), 3, "a dry run deletes nothing")

	code, _, stderr = cli(t, "", "jobs", "prune", "--older-than", "30d")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "deleted job "+old+" (")
	require.Regexp(t, `deleted 1 job started more than 30d ago, freed \d+\.\d kB; kept 1 incomplete job\n$`, stderr)
	rows = e.listed()
	require.Len(t, rows, 2)
	require.Equal(t, []string{unfinished, fresh}, []string{rows[0]["id"], rows[1]["id"]}, "by start")

	// A Go duration, and the incomplete job on request.
	code, _, stderr = cli(t, "", "jobs", "prune", "--older-than", "720h", "--include-incomplete")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "deleted job "+unfinished+" (")
	require.Len(t, e.listed(), 1)

	code, _, stderr = cli(t, "", "jobs", "prune", "--older-than", "1d12h")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "deleted 0 jobs started more than 1d12h ago, freed 0 B\n", stderr)
}

func TestCheckForget(t *testing.T) {
	e := newJobsEnv(t)
	in := e.input("n.txt", 0, 40)
	out := filepath.Join(e.dir, "n.txt.csv")
	stderr := e.check(in, "--chunk-size", "25", "--forget")
	want := readCSV(t, out)
	require.Len(t, want, 40)
	jobs, err := connector.ListJobs(e.jobs)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	dir := jobs[0].Dir
	require.Regexp(t, `forgot the kept results in `+regexp.QuoteMeta(dir)+` \(2 chunks, \d+\.\d kB\); rerunning this job will pay 2 status calls again to download them \(no task is created again\)\n$`, stderr)
	require.NoDirExists(t, filepath.Join(dir, "results"), "the profiles are deleted")
	require.Equal(t, "forgotten", e.listed()[0]["state"])

	// The rerun downloads again and creates nothing.
	before := e.sb.Stats()
	require.NoError(t, os.Remove(out))
	stderr = e.check(in, "--chunk-size", "25")
	after := e.sb.Stats()
	require.Equal(t, before.Creates, after.Creates, "no task created again")
	require.Equal(t, 2, after.StatusCalls-before.StatusCalls)
	require.Equal(t, 2, after.Downloads-before.Downloads)
	require.Contains(t, stderr, "tasks: 2 (0 created now, 2 from an earlier run); charged calls: 2 (0 creations, 2 status)")
	require.Equal(t, want, readCSV(t, out))
	require.Equal(t, "done", e.listed()[0]["state"])
}

func TestCheckForgetNotOnFailure(t *testing.T) {
	// The second chunk's creation is refused (401) after the first chunk's
	// result was kept: the run fails, and --forget leaves the journal as
	// it is, resumable.
	sb := emulator.New(emulator.WithSpeed(1e9), emulator.WithStartDelay(0), emulator.WithExportDelay(0), emulator.WithSeed(3))
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && posts.Add(1) == 2 {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"unauthorized"}`))
			return
		}
		sb.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "n.txt")
	writeNumbers(t, in, 0, 40)
	state := filepath.Join(dir, "state")
	code, _, stderr := cli(t, "", "check", in, "--api-url", srv.URL, "--api-key", emulator.DefaultAPIKey, "--user-id", "u",
		"--poll-floor", "10ms", "--export-min", "0", "--chunk-size", "25", "--parallel", "1", "--state", state,
		"--out", filepath.Join(dir, "o.csv"), "--forget")
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, "401")
	require.NotContains(t, stderr, "forgot")
	kept, err := filepath.Glob(filepath.Join(state, "results", "*.arrow"))
	require.NoError(t, err)
	require.Len(t, kept, 1, "the first chunk's profiles are kept for the rerun")
}
