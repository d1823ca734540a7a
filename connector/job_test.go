package connector

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/emulator"
)

// virtualClient is a client whose retry waits run on clock, with the
// default retry policy: what a user gets, in virtual time.
func (s *sandbox) virtualClient(t *testing.T, clock Clock) *Client {
	t.Helper()
	c, err := NewClient(s.url, emulator.DefaultAPIKey, "test-user", WithClock(clock))
	require.NoError(t, err)
	return c
}

func TestDownloadOutlastsShortLinksCutsAndRateLimits(t *testing.T) {
	// Links live 1 s, most transfers are cut and a third of the
	// status calls are rate limited: the default retry backoff soon
	// outlives a link, so a result needs several fresh links and several
	// tries, more than any small fixed count. Each chunk still finishes,
	// created once.
	clock := newVirtualClock()
	sb := newSandbox(t, emulator.WithClock(clock), emulator.WithSpeed(100), emulator.WithStartDelay(time.Second), emulator.WithExportDelay(time.Second),
		emulator.WithLinkTTL(time.Second), emulator.WithFault(emulator.Fault{Kind: emulator.FaultCutDownload, Rate: 0.7}),
		emulator.WithFault429(0.3, emulator.OnStatus))
	var mu sync.Mutex
	tries := map[string]int{} // download requests by task
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/results/") {
			mu.Lock()
			tries[path.Base(r.URL.Path)]++
			mu.Unlock()
		}
		sb.ServeHTTP(w, r)
	}))
	defer srv.Close()
	sb.url = srv.URL
	in := makeInput(t, 1500)
	plan, err := NewPlan([]Input{{Name: "numbers.txt", R: strings.NewReader(in.text)}}, PlanOptions{Region: "CH", ChunkSize: 100})
	require.NoError(t, err)
	out := newCollect()
	job := newJob(t, sb, clock, plan, t.TempDir(), out)
	job.Client = sb.virtualClient(t, clock)
	job.Parallel = 1 // one chunk at a time: no other chunk's wait moves the virtual clock under a link
	_, err = job.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, len(in.distinct), out.n)
	st := sb.Stats()
	require.Equal(t, len(plan.Chunks), st.Creates, "no chunk created twice")
	require.Positive(t, st.CutDownloads)
	require.Positive(t, st.Errors[403], "links expired and were replaced")
	require.Positive(t, st.Errors[429])
	most := 0
	for _, n := range tries {
		most = max(most, n)
	}
	require.Greater(t, most, 5, "some result took more than five tries")
}

func TestDownloadGivesUpResumable(t *testing.T) {
	// Every transfer is cut: the fetch stops within its time budget,
	// saying so, and the task stays exported, so a rerun pays no creation.
	clock := newVirtualClock()
	sb := newSandbox(t, emulator.WithClock(clock), emulator.WithSpeed(100), emulator.WithStartDelay(0), emulator.WithExportDelay(0),
		emulator.WithFault(emulator.Fault{Kind: emulator.FaultCutDownload, Rate: 1}))
	plan, err := NewPlan([]Input{{Name: "n.txt", R: strings.NewReader("+41798284651\n")}}, PlanOptions{})
	require.NoError(t, err)
	dir := t.TempDir()
	job := newJob(t, sb, clock, plan, dir, newCollect())
	job.Client = sb.virtualClient(t, clock)
	job.Download = DownloadPolicy{Budget: 10 * time.Minute}
	start := clock.Now()
	_, err = job.Run(context.Background())
	require.ErrorContains(t, err, "gave up after")
	require.ErrorContains(t, err, "rerun to try again")
	require.LessOrEqual(t, clock.Now().Sub(start), 11*time.Minute, "bounded by the budget")
	require.Equal(t, StateExported, job.Journal.record(plan.Chunks[0].Hash).State)
	require.Equal(t, 1, sb.Stats().Creates)
}

// outage answers 500 to status calls while on is set, and passes the
// rest to the sandbox.
func outage(sb *sandbox, on *atomic.Bool) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if on.Load() && r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/tasks/") {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		sb.ServeHTTP(w, r)
	}))
}

func TestStatusRetriesOutlastTransientFaults(t *testing.T) {
	// 30 % of all calls fail with 500 and 20 % with 429: the run finishes.
	clock := newVirtualClock()
	sb := newSandbox(t, emulator.WithClock(clock), emulator.WithSpeed(50), emulator.WithStartDelay(2*time.Second), emulator.WithExportDelay(2*time.Second),
		emulator.WithFault500(0.3), emulator.WithFault429(0.2))
	in := makeInput(t, 1200)
	plan, err := NewPlan([]Input{{Name: "numbers.txt", R: strings.NewReader(in.text)}}, PlanOptions{Region: "CH", ChunkSize: 200})
	require.NoError(t, err)
	out := newCollect()
	job := newJob(t, sb, clock, plan, t.TempDir(), out)
	job.Client = sb.virtualClient(t, clock)
	_, err = job.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, len(in.distinct), out.n)
	require.Equal(t, len(plan.Chunks), sb.Stats().Creates)
	require.Positive(t, sb.Stats().Errors[500])
}

func TestStatusOutageStopsResumable(t *testing.T) {
	clock := newVirtualClock()
	sb := newSandbox(t, emulator.WithClock(clock), emulator.WithSpeed(100), emulator.WithStartDelay(time.Second), emulator.WithExportDelay(time.Second))
	var down atomic.Bool
	down.Store(true)
	srv := outage(sb, &down)
	defer srv.Close()
	plan, err := NewPlan([]Input{{Name: "n.txt", R: strings.NewReader("+41798284651\n+33612345678\n")}}, PlanOptions{})
	require.NoError(t, err)
	dir := t.TempDir()
	run := func() (*Summary, *Job, error) {
		c, err := NewClient(srv.URL, emulator.DefaultAPIKey, "u", WithClock(clock), WithRetry(RetryPolicy{Budget: 20 * time.Minute}))
		require.NoError(t, err)
		j, err := OpenJournal(dir, plan, c)
		require.NoError(t, err)
		t.Cleanup(func() { j.Close() })
		job := &Job{Client: c, Plan: plan, Journal: j, Clock: clock, Out: newCollect().out}
		sum, err := job.Run(context.Background())
		j.Close()
		return sum, job, err
	}
	start := clock.Now()
	_, _, err = run()
	require.ErrorIs(t, err, ErrServer)
	require.ErrorContains(t, err, "gave up after")
	require.Regexp(t, `over 19m\d+s`, err.Error(), "it says how long it tried")
	spent := clock.Now().Sub(start)
	require.Greater(t, spent, 19*time.Minute)
	require.Less(t, spent, 22*time.Minute)
	require.Equal(t, 1, sb.Stats().Creates)

	down.Store(false)
	sum, _, err := run()
	require.NoError(t, err)
	require.Zero(t, sum.Calls.Creates, "the rerun resumes the task")
	require.Equal(t, 1, sb.Stats().Creates)
}

func TestRetryBudgetAppliesToEveryCall(t *testing.T) {
	// The zero policy retries (it used to mean "no retries"): a status
	// call that fails twice, then answers, succeeds.
	clock := newVirtualClock()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"task_id":"t1","status":"processing","total":10,"success":1}`))
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, "key-123456", "u", WithRetry(RetryPolicy{}), WithClock(clock))
	require.NoError(t, err)
	task, err := c.Task(context.Background(), "t1")
	require.NoError(t, err)
	require.Equal(t, 1, task.Success)
	require.EqualValues(t, 3, calls.Load())
}

func TestLostCreationExplainedTheFirstTime(t *testing.T) {
	clock := newVirtualClock()
	sb := newSandbox(t, emulator.WithClock(clock), emulator.WithSpeed(100), emulator.WithStartDelay(0), emulator.WithExportDelay(0),
		emulator.WithFault(emulator.Fault{Kind: emulator.FaultDropCreate, On: emulator.OnCreate, First: 1}))
	plan, err := NewPlan([]Input{{Name: "n.txt", R: strings.NewReader("+41798284651\n")}}, PlanOptions{})
	require.NoError(t, err)
	job := newJob(t, sb, clock, plan, t.TempDir(), newCollect())
	_, err = job.Run(context.Background())
	require.ErrorIs(t, err, ErrLostCreation)
	require.ErrorIs(t, err, ErrTransport)
	require.ErrorContains(t, err, "may have created (and charged) a task")
	require.ErrorContains(t, err, "--resubmit-lost")
	require.ErrorContains(t, err, "one more creation charge")
}

func TestJobSchemaIsFixedBeforeRun(t *testing.T) {
	// Two result files with different extra columns come out with one
	// schema, declared before Run; the undeclared column is named.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	clock := newVirtualClock()
	sb := newSandbox(t, emulator.WithClock(clock), emulator.WithSpeed(100), emulator.WithStartDelay(0), emulator.WithExportDelay(0))
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/results/") {
			sb.ServeHTTP(w, r)
			return
		}
		// Serve the sandbox's workbook with an extra column, which differs
		// from one result file to the next.
		n++
		extra := map[int]string{1: "About", 2: "Business Name"}[n]
		rec := httptest.NewRecorder()
		sb.ServeHTTP(rec, r)
		w.Write(addColumn(t, rec.Body.Bytes(), extra))
	}))
	defer srv.Close()
	sb.url = srv.URL
	in := makeInput(t, 200)
	plan, err := NewPlan([]Input{{Name: "numbers.txt", R: strings.NewReader(in.text)}}, PlanOptions{Region: "CH", ChunkSize: 80})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(plan.Chunks), 2)
	job := newJob(t, sb, clock, plan, t.TempDir(), nil)
	job.Parallel, job.Mem, job.PassThrough = 1, mem, []string{"about"}
	schema, err := job.Schema()
	require.NoError(t, err)
	require.True(t, schema.Equal(arrowconv.Schema("about")))
	var rows int64
	job.Out = func(rec arrow.RecordBatch) error {
		require.True(t, rec.Schema().Equal(schema), "every batch has the declared schema: %s", rec.Schema())
		rows += rec.NumRows()
		return nil
	}
	sum, err := job.Run(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, len(plan.Numbers), rows)
	require.Equal(t, []string{"business_name"}, sum.LeftOut)

	for _, bad := range [][]string{{"skin_color"}, {"About"}, {"number"}, {"x", "x"}} {
		job.PassThrough = bad
		_, err := job.Schema()
		require.Error(t, err, "%q", bad)
		_, err = job.Run(context.Background())
		require.Error(t, err, "refused before any call: %q", bad)
	}
}

func TestUnreadableResultIsNotLeftOnDisk(t *testing.T) {
	// A result that does not parse is deleted (it holds a column wadeep
	// never carries), the error says so, and the task stays exported.
	clock := newVirtualClock()
	sb := newSandbox(t, emulator.WithClock(clock), emulator.WithSpeed(100), emulator.WithStartDelay(0), emulator.WithExportDelay(0))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/results/") {
			rec := httptest.NewRecorder()
			sb.ServeHTTP(rec, r)
			w.Write(addColumn(t, rec.Body.Bytes(), "age")) // a second age column
			return
		}
		sb.ServeHTTP(w, r)
	}))
	defer srv.Close()
	sb.url = srv.URL
	plan, err := NewPlan([]Input{{Name: "n.txt", R: strings.NewReader("+41798284651\n")}}, PlanOptions{})
	require.NoError(t, err)
	dir := t.TempDir()
	job := newJob(t, sb, clock, plan, dir, newCollect())
	_, err = job.Run(context.Background())
	require.Error(t, err)
	require.ErrorContains(t, err, "was deleted")
	left, _ := filepath.Glob(filepath.Join(dir, "results", "*.xlsx"))
	require.Empty(t, left)
	require.Equal(t, StateExported, job.Journal.record(plan.Chunks[0].Hash).State)
}

func TestOpenJournalKnowsTheJob(t *testing.T) {
	// The journal's identity comes from the plan and the client: a changed
	// input is caught without the caller describing the job.
	sb := newSandbox(t)
	c := sb.client(t)
	dir := t.TempDir()
	p1, err := NewPlan([]Input{{Name: "a.txt", R: strings.NewReader("+41798284651\n")}}, PlanOptions{})
	require.NoError(t, err)
	j, err := OpenJournal(dir, p1, c)
	require.NoError(t, err)
	require.NoError(t, j.Close())
	p2, err := NewPlan([]Input{{Name: "a.txt", R: strings.NewReader("+33612345678\n")}}, PlanOptions{})
	require.NoError(t, err)
	_, err = OpenJournal(dir, p2, c)
	require.ErrorContains(t, err, "belongs to another job")
	require.ErrorContains(t, err, "the input changed")

	d1, err := DefaultStateDir(p1, c)
	require.NoError(t, err)
	d2, err := DefaultStateDir(p2, c)
	require.NoError(t, err)
	require.NotEqual(t, d1, d2)
	again, err := DefaultStateDir(p1, c)
	require.NoError(t, err)
	require.Equal(t, d1, again, "the same job finds the same directory")
}

func TestRejectRecords(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var b strings.Builder
	for i := 0; i < rejectBatchRows+10; i++ {
		b.WriteString("nope\n")
	}
	b.WriteString("+41798284651\n+41798284651\n")
	plan, err := NewPlan([]Input{{Name: "in.txt", R: strings.NewReader(b.String())}}, PlanOptions{})
	require.NoError(t, err)
	r := plan.RejectRecords(mem)
	defer r.Release()
	require.True(t, r.Schema().Equal(RejectSchema()))
	var rows, batches int
	var last []string
	for r.Next() {
		rec := r.RecordBatch()
		batches++
		for i := 0; i < int(rec.NumRows()); i++ {
			rows++
			last = []string{rec.Column(0).ValueStr(i), rec.Column(1).ValueStr(i), rec.Column(2).ValueStr(i), rec.Column(3).ValueStr(i), rec.Column(4).ValueStr(i)}
		}
	}
	require.NoError(t, r.Err())
	require.Equal(t, len(plan.Rejects), rows)
	require.Equal(t, 2, batches)
	require.Equal(t, []string{"in.txt", "65548", "+41798284651", "duplicate", "duplicate of row 65547"}, last)
}

// addColumn returns the workbook with one more column, header name, every
// row "x".
func addColumn(t *testing.T, xlsx []byte, name string) []byte {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(xlsx))
	require.NoError(t, err)
	defer f.Close()
	sheet := f.GetSheetName(0)
	rows, err := f.GetRows(sheet)
	require.NoError(t, err)
	col := len(rows[0]) + 1
	for r := range rows {
		v := "x"
		if r == 0 {
			v = name
		}
		cell, err := excelize.CoordinatesToCellName(col, r+1)
		require.NoError(t, err)
		require.NoError(t, f.SetCellValue(sheet, cell, v))
	}
	var buf bytes.Buffer
	require.NoError(t, f.Write(&buf))
	return buf.Bytes()
}
