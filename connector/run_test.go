package connector

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
)

// e2eInput is a generated input file and what a correct run makes of it.
type e2eInput struct {
	text     string
	distinct []string       // distinct valid numbers, in first-seen order
	rejects  map[int]Reason // line → reason
	dupOf    map[int]int    // duplicate line → line of the first occurrence
	blank    int
	lines    int
}

// makeInput writes n valid numbers in E.164 and national formats (region CH),
// with invalid values, duplicates, over-long lines and blank lines between.
func makeInput(t *testing.T, n int) e2eInput {
	t.Helper()
	nums := validNumbers(t, n)
	in := e2eInput{rejects: map[int]Reason{}, dupOf: map[int]int{}}
	first := map[string]int{}
	var b strings.Builder
	line := 0
	add := func(s string) { line++; b.WriteString(s + "\n") }
	for i, e := range nums {
		switch {
		case i%97 == 5:
			add("")
			in.blank++
		case i%31 == 3:
			add("call me maybe")
			in.rejects[line] = ReasonNotNumber
		case i%53 == 7:
			add("+" + strings.Repeat("9", 80))
			in.rejects[line] = ReasonTooLong
		case i%41 == 11:
			add("+41 00 000 00 00") // not a valid Swiss number
			in.rejects[line] = ReasonInvalid
		}
		value := e
		if strings.HasPrefix(e, "+41") && i%2 == 0 {
			// national format, needs --region CH
			value = "0" + e[3:5] + " " + e[5:8] + " " + e[8:10] + " " + e[10:]
		} else if i%3 == 0 {
			value = "  " + e[:4] + " " + e[4:] + "\t" // spaces around and inside
		}
		add(value)
		first[e] = line
		in.distinct = append(in.distinct, e)
		if i%17 == 4 {
			add(e) // a duplicate of the line just written
			in.rejects[line] = ReasonDuplicate
			in.dupOf[line] = first[e]
		}
	}
	in.text, in.lines = b.String(), line
	return in
}

func newJob(t *testing.T, sb *sandbox, clock *virtualClock, plan *Plan, dir string, out *collect) *Job {
	t.Helper()
	client := sb.client(t)
	j, err := OpenJournal(dir, plan, client)
	require.NoError(t, err)
	t.Cleanup(func() { j.Close() })
	// Every job in the tests runs on a checked allocator: no Arrow memory
	// may outlive it.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return &Job{Client: client, Plan: plan, Journal: j, Out: out.out, Clock: clock, Parallel: 3, Mem: mem}
}

func TestRunEndToEnd(t *testing.T) {
	clock := newVirtualClock()
	sb := newSandbox(t, emulator.WithClock(clock), emulator.WithSpeed(20), emulator.WithStartDelay(30*time.Second), emulator.WithExportDelay(10*time.Second))
	in := makeInput(t, 2500)

	plan, err := NewPlan([]Input{{Name: "numbers.txt", R: strings.NewReader(in.text)}}, PlanOptions{Region: "CH", ChunkSize: 500})
	require.NoError(t, err)

	// Rows reconcile, and the rejects are exactly the bad lines.
	require.Equal(t, in.lines, plan.Rows)
	require.Equal(t, in.blank, plan.Blank)
	require.Equal(t, plan.Rows, len(plan.Numbers)+len(plan.Rejects)+plan.Blank)
	require.Equal(t, in.distinct, plan.Numbers.Strings())
	got := map[int]Reason{}
	for _, r := range plan.Rejects {
		got[r.Row] = r.Reason
		if r.Reason == ReasonDuplicate {
			require.Equal(t, in.dupOf[r.Row], r.DuplicateOf.Row, "line %d", r.Row)
			require.Equal(t, fmt.Sprintf("duplicate of row %d", in.dupOf[r.Row]), r.Explain())
		}
	}
	require.Equal(t, in.rejects, got)
	require.Len(t, plan.Chunks, 5)

	out := newCollect()
	dir := t.TempDir()
	job := newJob(t, sb, clock, plan, dir, out)
	sum, err := job.Run(context.Background())
	require.NoError(t, err)

	// The journal keeps profiles, never the upstream's workbooks, which
	// carry a column wadeep never carries.
	kept, err := filepath.Glob(filepath.Join(dir, "results", "*"))
	require.NoError(t, err)
	require.Len(t, kept, len(plan.Chunks))
	for _, k := range kept {
		require.Equal(t, ".arrow", filepath.Ext(k), k)
		st, err := os.Stat(k)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "kept profiles are private")
		f, err := os.Open(k)
		require.NoError(t, err)
		r, err := ipc.NewFileReader(f)
		require.NoError(t, err)
		for _, fld := range r.Schema().Fields() {
			require.NotContains(t, fld.Name, "skin")
		}
		r.Close()
		f.Close()
	}

	// One row per distinct number, each the sandbox's known profile.
	require.Empty(t, out.dups)
	require.Equal(t, len(in.distinct), out.n)
	require.EqualValues(t, len(in.distinct), sum.Profiles)
	failed := 0
	for _, e := range in.distinct {
		want := wantRow(t, e)
		gotRow := out.rows[e]
		require.NotEmpty(t, gotRow.TaskID, e)
		gotRow.TaskID = ""
		require.Equal(t, want, gotRow, e)
		if want.Status == "failed" {
			failed++
		}
	}
	require.Positive(t, failed, "the sandbox fails some numbers; they must come out as failed")
	require.EqualValues(t, failed, sum.Failed)

	// Nothing uploaded twice; one creation per chunk.
	st := sb.Stats()
	require.Equal(t, 5, st.Creates)
	require.Zero(t, st.DuplicateUploads)
	for _, e := range in.distinct {
		require.Equal(t, 1, sb.Uploads()[e], e)
	}
	require.EqualValues(t, st.Charged, sum.Calls.Charged())
	require.Equal(t, 5, sum.Created)
}

func TestRunResumesWithoutPayingTwice(t *testing.T) {
	clock := newVirtualClock()
	sb := newSandbox(t, emulator.WithClock(clock), emulator.WithSpeed(50), emulator.WithStartDelay(5*time.Second), emulator.WithExportDelay(5*time.Second))
	in := makeInput(t, 1200)
	plan, err := NewPlan([]Input{{Name: "numbers.txt", R: strings.NewReader(in.text)}}, PlanOptions{Region: "CH", ChunkSize: 500})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "state")

	// The first run is cut short while the tasks run.
	ctx, cancel := context.WithCancel(context.Background())
	first := newCollect()
	job := newJob(t, sb, clock, plan, dir, first)
	job.Parallel = 1
	job.Out = func(rec arrow.RecordBatch) error { cancel(); return context.Canceled }
	_, err = job.Run(ctx)
	require.ErrorIs(t, err, context.Canceled)
	job.Journal.Close()
	created := sb.Stats().Creates
	require.Positive(t, created)

	// The rerun on the same journal finishes without creating those again.
	second := newCollect()
	job2 := newJob(t, sb, clock, plan, dir, second)
	sum, err := job2.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, len(plan.Chunks), sb.Stats().Creates, "each chunk created exactly once over both runs")
	require.Zero(t, sb.Stats().DuplicateUploads)
	require.Equal(t, len(plan.Chunks)-created, sum.Created)
	require.Equal(t, created, sum.Resumed)
	require.Equal(t, len(in.distinct), second.n)

	job2.Journal.Close()

	// A third run finds every result kept: no call at all.
	before := sb.Stats().Charged
	third := newCollect()
	job3 := newJob(t, sb, clock, plan, dir, third)
	sum, err = job3.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, before, sb.Stats().Charged)
	require.Zero(t, sum.Calls.Charged())
	require.Equal(t, second.rows, third.rows)
}

func TestJournalRefusesAnotherJob(t *testing.T) {
	dir := t.TempDir()
	j, err := openJournal(dir, JobRecord{APIURL: "u", UserID: "a", ChunkSize: 10, Chunks: []string{"h1", "h2"}, Numbers: 20, Inputs: []string{"a.txt"}})
	require.NoError(t, err)
	require.NoError(t, j.Close())
	_, err = openJournal(dir, JobRecord{APIURL: "u", UserID: "a", ChunkSize: 5, Chunks: []string{"h1", "h3"}, Numbers: 20, Inputs: []string{"a.txt"}})
	require.ErrorContains(t, err, "belongs to another job")
	require.ErrorContains(t, err, "chunk size was 10, now 5")
	require.ErrorContains(t, err, "the input changed")
}

func TestRunUnderFaults(t *testing.T) {
	clock := newVirtualClock()
	sb := newSandbox(t, emulator.WithClock(clock), emulator.WithSpeed(40), emulator.WithStartDelay(10*time.Second), emulator.WithExportDelay(5*time.Second),
		emulator.WithFault500(0.2), emulator.WithFault429(0.2), emulator.WithCutDownloads(1), emulator.WithLinkTTL(time.Second))
	in := makeInput(t, 1500)
	plan, err := NewPlan([]Input{{Name: "numbers.txt", R: strings.NewReader(in.text)}}, PlanOptions{Region: "CH", ChunkSize: 500})
	require.NoError(t, err)
	out := newCollect()
	job := newJob(t, sb, clock, plan, t.TempDir(), out)
	// Enough tries that 40% refusals cannot exhaust them by chance.
	job.Client = sb.client(t, WithRetry(RetryPolicy{Base: time.Millisecond, MaxWait: 2 * time.Millisecond, Budget: 5 * time.Second}))
	sum, err := job.Run(context.Background())
	require.NoError(t, err)

	require.Equal(t, len(in.distinct), out.n)
	for _, e := range in.distinct {
		got := out.rows[e]
		got.TaskID = ""
		require.Equal(t, wantRow(t, e), got, e)
	}
	st := sb.Stats()
	require.Equal(t, len(plan.Chunks), st.Creates, "no chunk created twice")
	require.Zero(t, st.DuplicateUploads)
	// Downloads meet 500s and 429s too, so not every chunk's first full try
	// is the one the sandbox cuts; some are cut all the same.
	require.Positive(t, st.CutDownloads, "cut downloads were fetched again")
	require.Positive(t, st.Errors[500])
	require.Positive(t, st.Errors[429])
	require.Positive(t, sum.Calls.Errors)
}

func TestRunDroppedCreationAnswer(t *testing.T) {
	clock := newVirtualClock()
	sb := newSandbox(t, emulator.WithClock(clock), emulator.WithSpeed(100), emulator.WithStartDelay(time.Second), emulator.WithExportDelay(time.Second),
		emulator.WithFault(emulator.Fault{Kind: emulator.FaultDropCreate, On: emulator.OnCreate, First: 1}))
	in := makeInput(t, 400)
	plan, err := NewPlan([]Input{{Name: "numbers.txt", R: strings.NewReader(in.text)}}, PlanOptions{Region: "CH", ChunkSize: 500})
	require.NoError(t, err)
	dir := t.TempDir()

	job := newJob(t, sb, clock, plan, dir, newCollect())
	_, err = job.Run(context.Background())
	require.ErrorIs(t, err, ErrTransport, "the connection dropped after the upload was sent")
	require.Equal(t, 1, sb.Stats().Creates, "the sandbox did create the task")
	job.Journal.Close()

	job = newJob(t, sb, clock, plan, dir, newCollect())
	_, err = job.Run(context.Background())
	require.ErrorIs(t, err, ErrLostCreation)
	require.ErrorContains(t, err, "--resubmit-lost")
	require.Equal(t, 1, sb.Stats().Creates, "not resubmitted without being asked")
	job.Journal.Close()

	out := newCollect()
	job = newJob(t, sb, clock, plan, dir, out)
	job.ResubmitLost = true
	_, err = job.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2, sb.Stats().Creates)
	require.Equal(t, len(in.distinct), out.n)
}

func TestRunSurvivesSandboxRestart(t *testing.T) {
	clock := newVirtualClock()
	opts := []emulator.Option{emulator.WithSeed(7), emulator.WithClock(clock), emulator.WithSpeed(50), emulator.WithStartDelay(5 * time.Second), emulator.WithExportDelay(5 * time.Second)}
	first := emulator.New(opts...)
	ts := httptest.NewServer(first)
	addr := ts.Listener.Addr().String()
	sb := &sandbox{Server: first, url: ts.URL}

	in := makeInput(t, 1200)
	plan, err := NewPlan([]Input{{Name: "numbers.txt", R: strings.NewReader(in.text)}}, PlanOptions{Region: "CH", ChunkSize: 500})
	require.NoError(t, err)
	dir := t.TempDir()
	job := newJob(t, sb, clock, plan, dir, newCollect())
	job.Parallel = 1
	job.Out = func(arrow.RecordBatch) error { return context.Canceled }
	_, err = job.Run(context.Background())
	require.ErrorIs(t, err, context.Canceled)
	job.Journal.Close()

	// The sandbox restarts on the same address, keeping its tasks.
	state := first.Snapshot()
	ts.Close()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	restarted := emulator.New(append(opts, emulator.WithState(state))...)
	ts2 := &httptest.Server{Listener: ln, Config: &http.Server{Handler: restarted}}
	ts2.Start()
	t.Cleanup(ts2.Close)

	out := newCollect()
	job = newJob(t, &sandbox{Server: restarted, url: ts2.URL}, clock, plan, dir, out)
	sum, err := job.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, len(in.distinct), out.n)
	require.Equal(t, len(plan.Chunks), restarted.Stats().Creates, "tasks created before the restart were polled, not created again")
	require.Zero(t, restarted.Stats().DuplicateUploads)
	require.Positive(t, sum.Resumed)
}

func TestRunKeepsATaskWhoseAnswerBreaksTheContract(t *testing.T) {
	var posts, polls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
			w.Write([]byte(`{"task_id":"t-odd","status":"queued","total":0}`))
			return
		}
		polls.Add(1)
		w.Write([]byte(`{"task_id":"t-odd","status":"queued","total":0}`))
	}))
	defer srv.Close()
	plan, err := NewPlan([]Input{{Name: "n.txt", R: strings.NewReader("+41798284651\n")}}, PlanOptions{})
	require.NoError(t, err)
	dir := t.TempDir()
	for run := 0; run < 2; run++ {
		c, err := NewClient(srv.URL, "key-123456", "u")
		require.NoError(t, err)
		j, err := OpenJournal(dir, plan, c)
		require.NoError(t, err)
		job := &Job{Client: c, Plan: plan, Journal: j, Clock: newVirtualClock(), Out: func(arrow.RecordBatch) error { return nil }}
		_, err = job.Run(context.Background())
		require.ErrorContains(t, err, `unknown status "queued"`)
		require.Equal(t, "t-odd", j.record(plan.Chunks[0].Hash).TaskID)
		require.EqualValues(t, 1, c.Calls().Snapshot().Creates+c.Calls().Snapshot().Statuses, "the odd answer is still charged, and counted")
		j.Close()
	}
	require.EqualValues(t, 1, posts.Load(), "the task is kept, never created again")
	require.EqualValues(t, 1, polls.Load(), "the rerun polls it instead")
}

func TestRunStopsAtTheFirstFailedChunk(t *testing.T) {
	// Chunk 1 would take a minute; chunk 2 is refused at once. The run
	// reports chunk 2 without waiting for chunk 1.
	sandboxSrv := emulator.New(emulator.WithSeed(5), emulator.WithSpeed(10), emulator.WithStartDelay(0))
	refuse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			if strings.Contains(string(body), "+41791000600") { // the first number of chunk 2
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"error":"file rejected"}`))
				return
			}
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		sandboxSrv.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(refuse)
	defer srv.Close()
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "+4179%07d\n", 1000000+i)
	}
	plan, err := NewPlan([]Input{{Name: "n.txt", R: strings.NewReader(b.String())}}, PlanOptions{ChunkSize: 600})
	require.NoError(t, err)
	c, err := NewClient(srv.URL, emulator.DefaultAPIKey, "u")
	require.NoError(t, err)
	j, err := OpenJournal(t.TempDir(), plan, c)
	require.NoError(t, err)
	defer j.Close()
	job := &Job{Client: c, Plan: plan, Journal: j, Parallel: 2, Out: func(arrow.RecordBatch) error { return nil }}
	_, err = job.Run(context.Background())
	require.ErrorIs(t, err, ErrBadRequest)
	require.ErrorContains(t, err, "chunk 2 of 2")
	for _, task := range sandboxSrv.Tasks() {
		require.NotEqual(t, emulator.StatusExported, task.Status, "chunk 1 was still running when the run stopped")
	}
}

func TestRunAdoptsTasksOfAChangedInput(t *testing.T) {
	clock := newVirtualClock()
	sb := newSandbox(t, emulator.WithClock(clock), emulator.WithSpeed(100), emulator.WithStartDelay(time.Second), emulator.WithExportDelay(time.Second))
	in := makeInput(t, 1000)
	root := t.TempDir()
	plan, err := NewPlan([]Input{{Name: "numbers.txt", R: strings.NewReader(in.text)}}, PlanOptions{Region: "CH", ChunkSize: 300})
	require.NoError(t, err)
	job := newJob(t, sb, clock, plan, filepath.Join(root, "first"), newCollect())
	_, err = job.Run(context.Background())
	require.NoError(t, err)
	job.Journal.Close()
	require.Equal(t, 4, sb.Stats().Creates)

	// Rows appended: the first three chunks are unchanged, the last grows
	// and a fifth appears. A new journal beside the first adopts the three.
	more := in.text + strings.Join(validNumbers(t, 1300)[1000:], "\n") + "\n"
	plan2, err := NewPlan([]Input{{Name: "numbers.txt", R: strings.NewReader(more)}}, PlanOptions{Region: "CH", ChunkSize: 300})
	require.NoError(t, err)
	require.Equal(t, plan.Chunks[2].Hash, plan2.Chunks[2].Hash)
	out := newCollect()
	job2 := newJob(t, sb, clock, plan2, filepath.Join(root, "second"), out)
	sum, err := job2.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, len(plan2.Numbers), out.n)
	require.Equal(t, 4+len(plan2.Chunks)-3, sb.Stats().Creates, "only the changed and new chunks are created")
	require.Equal(t, 3, sum.Resumed)
	require.Zero(t, sb.Stats().DuplicateFiles)
}
