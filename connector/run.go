package connector

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/sink"
)

// Clock is the job's time source. Tests use a virtual clock that moves on
// Sleep, so an hour-long task runs in milliseconds.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time                                   { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error { return sleepCtx(ctx, d) }

// ErrLostCreation means a chunk's task creation was sent but its answer never
// came: the upstream may have created (and charged) the task. It is not
// resubmitted unless Job.ResubmitLost says so.
var ErrLostCreation = errors.New("task creation answer lost")

// Job runs a Plan through the upstream: creates a task per chunk (each
// recorded in the Journal before and after), watches them, downloads and
// converts their results. Rerunning a Job on the same Journal resumes it.
type Job struct {
	Client  *Client
	Plan    *Plan
	Journal *Journal

	// Out receives the profile batches, in chunk order, from one goroutine.
	// The batch is valid only during the call.
	Out func(arrow.RecordBatch) error
	// Progress, if set, is called from one goroutine at a time as tasks move
	// and about once a second in between.
	Progress func(Progress)

	Parallel      int        // tasks in flight at once; 0 means 2
	Poll          PollPolicy // zero means DefaultPoll
	Clock         Clock      // nil means the system clock
	ResubmitLost  bool       // upload again chunks whose creation answer was lost (may be charged twice)
	ReaderOptions []arrowconv.Option
}

// Progress is a snapshot of a running Job.
type Progress struct {
	Elapsed   time.Duration
	Total     int  // numbers in all chunks
	Done      int  // numbers the upstream has finished
	Estimated bool // Done includes an extrapolation since the last status call
	// ETA estimates the time until every task is done; zero while unknown
	// (a task not started or without a measured speed yet).
	ETA    time.Duration
	Chunks []ChunkProgress
	Calls  Calls
}

// ChunkProgress is one chunk's part of a Progress.
type ChunkProgress struct {
	Index   int
	TaskID  string
	State   string // "waiting", "creating", a task status, "downloading", "downloaded", "converted"
	Done    int
	Total   int
	Resumed bool // the task was created by an earlier run
}

// Summary is what a finished Job did.
type Summary struct {
	Profiles   int64 // profile rows written
	Failed     int64 // of which status = failed
	Tasks      int   // chunks, one task each
	Created    int   // tasks this run created
	Resumed    int   // tasks created by an earlier run
	Calls      Calls // this run's calls
	FixedPolls int64 // status calls that polling every 5 s would have made
	Dropped    int64 // result rows left out: numbers not uploaded, or repeated
}

// Run runs the job to the end or the first error. After an error (or a
// cancelled ctx) the journal holds everything done so far; running the job
// again resumes it.
func (j *Job) Run(ctx context.Context) (*Summary, error) {
	if j.Client == nil || j.Plan == nil || j.Journal == nil || j.Out == nil {
		return nil, errors.New("connector: Job needs Client, Plan, Journal and Out")
	}
	if j.Clock == nil {
		j.Clock = realClock{}
	}
	if j.Poll == (PollPolicy{}) {
		j.Poll = DefaultPoll
	}
	parallel := j.Parallel
	if parallel <= 0 {
		parallel = 2
	}
	if err := j.checkLost(); err != nil {
		return nil, err
	}
	if err := j.adopt(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	st := newRunState(j)
	results := make([]chan chunkResult, len(j.Plan.Chunks))
	for i := range results {
		results[i] = make(chan chunkResult, 1)
	}
	sem := make(chan struct{}, parallel)
	// The first chunk to fail stops the run at once, not when its turn in
	// the output comes: a refused key or an empty balance concerns them all.
	failed := make(chan error, 1)
	var wg sync.WaitGroup
	for i, c := range j.Plan.Chunks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] <- chunkResult{err: ctx.Err()}
				return
			}
			defer func() { <-sem }()
			res, err := j.advance(ctx, c, st)
			res.err = err
			results[i] <- res
			if err != nil && ctx.Err() == nil {
				select {
				case failed <- err:
				default:
				}
			}
		}()
	}
	stopTicker := st.tick(ctx)
	defer func() {
		cancel()
		wg.Wait()
		stopTicker()
	}()

	sum := &Summary{Tasks: len(j.Plan.Chunks)}
	for i, c := range j.Plan.Chunks {
		var res chunkResult
		select {
		case res = <-results[i]:
		case err := <-failed:
			return nil, err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if res.err != nil {
			return nil, res.err
		}
		rows, failed, err := j.convert(c, res)
		if err != nil {
			return nil, err
		}
		sum.Dropped += int64(res.dropped)
		sum.Profiles += rows
		sum.Failed += failed
		if res.resumed {
			sum.Resumed++
		} else {
			sum.Created++
		}
		sum.FixedPolls += res.fixedPolls
		st.set(c.Index, func(p *ChunkProgress) { p.State = "converted" })
	}
	sum.Calls = j.Client.Calls().Snapshot().Sub(st.startCalls)
	st.report()
	return sum, nil
}

// chunkResult is a chunk whose profiles are kept on disk, verified.
type chunkResult struct {
	path       string // the kept profiles, an Arrow IPC file
	dropped    int    // result rows left out (see Summary.Dropped)
	taskID     string
	updatedAt  time.Time
	resumed    bool
	fixedPolls int64
	err        error
}

// convert streams one chunk's kept profiles to Out.
func (j *Job) convert(c Chunk, res chunkResult) (rows, failed int64, err error) {
	f, err := os.Open(res.path)
	if err != nil {
		return 0, 0, fmt.Errorf("connector: chunk %d (task %s): %w", c.Index+1, res.taskID, err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		return 0, 0, fmt.Errorf("connector: chunk %d (task %s): kept profiles %s: %w (delete it to fetch the result again)", c.Index+1, res.taskID, res.path, err)
	}
	defer r.Close()
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		if err != nil {
			return rows, failed, fmt.Errorf("connector: chunk %d (task %s): kept profiles %s: %w", c.Index+1, res.taskID, res.path, err)
		}
		rows += rec.NumRows()
		failed += countFailed(rec)
		if err := j.Out(rec); err != nil {
			return rows, failed, err
		}
	}
	return rows, failed, nil
}

// keep converts a downloaded result workbook into the chunk's profiles,
// kept in the journal as an Arrow IPC file, and deletes the workbook: it
// holds a column wadeep never carries (docs/privacy.md), and the Arrow file
// is what a resumed run reads. On a parse error the workbook stays, for a
// look, and the error says where.
func (j *Job) keep(c Chunk, taskID string, updatedAt time.Time, xlsx string) (dropped int, err error) {
	opts := append([]arrowconv.Option{arrowconv.WithTask(taskID, updatedAt), arrowconv.WithExpected(c.Numbers)}, j.ReaderOptions...)
	r, err := arrowconv.OpenFile(xlsx, opts...)
	if err != nil {
		return 0, fmt.Errorf("%w (the result file is kept at %s)", err, xlsx)
	}
	defer r.Release()
	w, err := sink.Create(j.Journal.ResultPath(c.Hash), r.Schema())
	if err != nil {
		return 0, err
	}
	for r.Next() {
		if err := w.Write(r.RecordBatch()); err != nil {
			w.Abort()
			return 0, err
		}
	}
	if err := r.Err(); err != nil {
		w.Abort()
		return 0, fmt.Errorf("%w (the result file is kept at %s)", err, xlsx)
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return r.Dropped(), os.Remove(xlsx)
}

func countFailed(rec arrow.RecordBatch) int64 {
	idx := rec.Schema().FieldIndices(arrowconv.ColStatus)
	if len(idx) == 0 {
		return 0
	}
	type dictString interface {
		Dictionary() arrow.Array
		GetValueIndex(int) int
	}
	col, ok := rec.Column(idx[0]).(dictString)
	if !ok {
		return 0
	}
	dict, ok := col.Dictionary().(interface{ Value(int) string })
	if !ok {
		return 0
	}
	var n int64
	for i := 0; i < int(rec.NumRows()); i++ {
		if dict.Value(col.GetValueIndex(i)) == arrowconv.StatusFailed {
			n++
		}
	}
	return n
}

// advance takes one chunk from wherever the journal says it is to a verified
// result file on disk.
func (j *Job) advance(ctx context.Context, c Chunk, st *runState) (chunkResult, error) {
	rec := j.Journal.Record(c.Hash)
	res := chunkResult{resumed: rec.State != StateNew && rec.State != StateIntent}
	where := j.describe(c)

	if rec.State == StateDownloaded {
		if err := verifyArrow(j.Journal.ResultPath(c.Hash)); err == nil {
			st.set(c.Index, func(p *ChunkProgress) {
				p.TaskID, p.State, p.Done, p.Resumed = rec.TaskID, "downloaded", len(c.Numbers), true
			})
			res.path, res.taskID, res.updatedAt, res.dropped = j.Journal.ResultPath(c.Hash), rec.TaskID, rec.UpdatedAt, rec.Dropped
			return res, nil
		}
		rec.State = StateExported // the kept file is gone or damaged: fetch it again
	}
	rec, created, err := j.ensureTask(ctx, c, rec, st)
	if err != nil {
		return res, err
	}
	res.taskID = rec.TaskID
	where = fmt.Sprintf("%s, task %s", where, rec.TaskID)

	task, err := j.watch(ctx, c, rec, created, st)
	if errors.Is(err, ErrNotFound) {
		return res, fmt.Errorf("connector: %s: %w; the upstream no longer knows this task (expired, or another user id?): "+
			"check --user-id, or start afresh with another --state directory (the chunk is then created and charged again)", where, err)
	}
	if err != nil {
		return res, fmt.Errorf("connector: %s: %w", where, err)
	}
	if rec.State != StateExported {
		rec.State, rec.UpdatedAt = StateExported, task.UpdatedAt
		if err := j.Journal.Put(rec); err != nil {
			return res, fmt.Errorf("connector: %s: %w", where, err)
		}
	}
	if !task.CreatedAt.IsZero() && !task.UpdatedAt.IsZero() {
		res.fixedPolls = int64(task.UpdatedAt.Sub(task.CreatedAt)/(5*time.Second)) + 1
	}

	st.set(c.Index, func(p *ChunkProgress) { p.State = "downloading" })
	xlsx, err := j.download(ctx, c, task)
	if err != nil {
		return res, fmt.Errorf("connector: %s: %w", where, err)
	}
	dropped, err := j.keep(c, rec.TaskID, task.UpdatedAt, xlsx)
	if err != nil {
		return res, fmt.Errorf("connector: %s: %w", where, err)
	}
	path := j.Journal.ResultPath(c.Hash)
	rec.State, rec.ResultFile, rec.UpdatedAt, rec.Dropped = StateDownloaded, filepath.Base(path), task.UpdatedAt, dropped
	if err := j.Journal.Put(rec); err != nil {
		return res, fmt.Errorf("connector: %s: %w", where, err)
	}
	st.set(c.Index, func(p *ChunkProgress) { p.State = "downloaded"; p.Done = len(c.Numbers) })
	res.path, res.updatedAt, res.dropped = path, task.UpdatedAt, dropped
	return res, nil
}

// ensureTask creates the chunk's task unless the journal has one. created
// is the creation answer when this call created it.
func (j *Job) ensureTask(ctx context.Context, c Chunk, rec ChunkRecord, st *runState) (ChunkRecord, *Task, error) {
	if rec.State != StateNew && rec.State != StateIntent {
		return rec, nil, nil
	}
	where := j.describe(c)
	if err := ctx.Err(); err != nil {
		return rec, nil, err // nothing sent: leave no intent behind
	}
	rec = ChunkRecord{Hash: c.Hash, Index: c.Index, Numbers: len(c.Numbers), FirstRow: j.Plan.Origin[c.First], State: StateIntent, IntentAt: j.Clock.Now().UTC()}
	if err := j.Journal.Put(rec); err != nil {
		return rec, nil, fmt.Errorf("connector: %s: %w", where, err)
	}
	if err := ctx.Err(); err != nil {
		// Stopped while the intent was written: nothing was sent.
		rec.State = StateNew
		return rec, nil, errors.Join(err, j.Journal.Put(rec))
	}
	st.set(c.Index, func(p *ChunkProgress) { p.State = "creating" })
	t, err := j.Client.CreateTask(ctx, fmt.Sprintf("chunk-%04d.txt", c.Index+1), c.Body())
	if err != nil {
		var ae *APIError
		switch {
		case CreateRefused(err):
			// A definite refusal: the upstream created nothing.
			rec.State = StateNew
			if perr := j.Journal.Put(rec); perr != nil {
				err = errors.Join(err, perr)
			}
		case errors.As(err, &ae) && ae.StatusCode == http.StatusOK && ae.TaskID != "":
			// Created, but the answer breaks the contract: keep the task so
			// that no rerun pays for it again.
			rec.State, rec.TaskID = StateCreated, ae.TaskID
			if perr := j.putCreated(rec); perr != nil {
				err = errors.Join(err, perr)
			}
		}
		// Otherwise the request may have arrived: the intent stays, so that
		// a rerun does not pay twice without being told.
		return rec, nil, fmt.Errorf("connector: %s: %w", where, err)
	}
	rec.State, rec.TaskID, rec.CreatedAt, rec.UpdatedAt = StateCreated, t.ID, t.CreatedAt, t.UpdatedAt
	if err := j.putCreated(rec); err != nil {
		return rec, nil, fmt.Errorf("connector: %s: %w", where, err)
	}
	return rec, t, nil
}

// putCreated journals a created task, trying a few times: losing the task
// id would make the next run stop on a lost creation.
func (j *Job) putCreated(rec ChunkRecord) error {
	var err error
	for try := 0; try < 3; try++ {
		if err = j.Journal.Put(rec); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond << try)
	}
	return fmt.Errorf("task %s was created but could not be journaled (note its id; the next run will call this chunk's creation lost): %w", rec.TaskID, err)
}

// Submit creates the task of every chunk that has none yet, recorded in the
// journal, and returns the task ids by chunk ("" for a chunk it could not
// create). A later Run on the same journal watches them.
func (j *Job) Submit(ctx context.Context) ([]string, error) {
	if j.Clock == nil {
		j.Clock = realClock{}
	}
	if err := j.checkLost(); err != nil {
		return nil, err
	}
	if err := j.adopt(); err != nil {
		return nil, err
	}
	st := newRunState(j)
	ids := make([]string, len(j.Plan.Chunks))
	for i, c := range j.Plan.Chunks {
		rec, _, err := j.ensureTask(ctx, c, j.Journal.Record(c.Hash), st)
		ids[i] = rec.TaskID
		if err != nil {
			return ids, err
		}
	}
	return ids, nil
}

// adopt takes over, for each chunk this journal has no task for, the task
// that a journal beside it (same API and user) holds for the same chunk
// content. So a job whose input changed, say rows appended, keeps the tasks
// of its unchanged chunks and pays only for the new ones. Tasks in an
// unfinished journal are shared too: the same chunk is never created twice,
// whichever job asks first.
func (j *Job) adopt() error {
	want := map[string]Chunk{}
	for _, c := range j.Plan.Chunks {
		if j.Journal.Record(c.Hash).State == StateNew {
			want[c.Hash] = c
		}
	}
	if len(want) == 0 {
		return nil
	}
	found, err := tasksBeside(j.Journal.Dir(), j.Client.BaseURL(), j.Client.userID, want)
	if err != nil {
		return err
	}
	for hash, rec := range found {
		c := want[hash]
		adopted := ChunkRecord{Hash: hash, Index: c.Index, Numbers: len(c.Numbers), FirstRow: j.Plan.Origin[c.First],
			State: StateCreated, TaskID: rec.TaskID, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt}
		if err := j.Journal.Put(adopted); err != nil {
			return fmt.Errorf("connector: %s: %w", j.describe(c), err)
		}
	}
	return nil
}

// checkLost stops a run before it calls anything when the journal holds a
// creation whose answer was lost, unless ResubmitLost says to upload again:
// the user decides about a possible double charge first.
func (j *Job) checkLost() error {
	if j.ResubmitLost {
		return nil
	}
	var lost []string
	var first ChunkRecord
	for _, c := range j.Plan.Chunks {
		if rec := j.Journal.Record(c.Hash); rec.State == StateIntent {
			if len(lost) == 0 {
				first = rec
			}
			lost = append(lost, j.describe(c))
		}
	}
	if len(lost) == 0 {
		return nil
	}
	return fmt.Errorf("connector: %s: %w at %s: the upstream may have created (and charged) a task for it, and it cannot be asked. "+
		"Rerunning would upload it again and may be charged twice; look for the task in the vendor's dashboard, "+
		"or rerun with --resubmit-lost to upload it again (one more creation charge, plus the polls)",
		strings.Join(lost, "; "), ErrLostCreation, first.IntentAt.Format(time.RFC3339))
}

// describe names a chunk for errors: its number and where its rows start.
func (j *Job) describe(c Chunk) string {
	o := j.Plan.Origin[c.First]
	return fmt.Sprintf("chunk %d of %d (%d numbers from %s row %d)", c.Index+1, len(j.Plan.Chunks), len(c.Numbers), o.File, o.Row)
}

// watch polls the task until it is exported and returns its last state.
// created is the creation answer, when this run created the task.
func (j *Job) watch(ctx context.Context, c Chunk, rec ChunkRecord, created *Task, st *runState) (*Task, error) {
	tr := newPollTracker(j.Poll, len(c.Numbers), rec.CreatedAt, uint64(c.Index)+1)
	st.track(c.Index, tr)
	st.set(c.Index, func(p *ChunkProgress) { p.TaskID, p.Resumed = rec.TaskID, created == nil })
	if created != nil {
		st.observe(c.Index, tr, created, j.Clock.Now())
		if err := j.Clock.Sleep(ctx, st.next(tr, j.Clock.Now())); err != nil {
			return nil, err
		}
	}
	for {
		t, err := j.Client.Task(ctx, rec.TaskID)
		if err != nil {
			return nil, err
		}
		now := j.Clock.Now()
		st.observe(c.Index, tr, t, now)
		if t.Status == StatusExported {
			return t, nil
		}
		if err := j.Clock.Sleep(ctx, st.next(tr, now)); err != nil {
			return nil, err
		}
	}
}

// downloadAttempts bounds the tries at one result file; downloads are free,
// but a link that keeps failing is not worth a loop.
const downloadAttempts = 5

// download fetches the task's result into the journal, verified. A cut
// transfer is retried after a backoff; a refused link (expired) costs one
// fresh status call for a new link, tried at once, never a new task.
func (j *Job) download(ctx context.Context, c Chunk, task *Task) (string, error) {
	final := strings.TrimSuffix(j.Journal.ResultPath(c.Hash), ".arrow") + ".xlsx"
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return "", err
	}
	link := task.ResultURL
	var lastErr error
	for attempt := 0; attempt < downloadAttempts; attempt++ {
		err := j.fetchTo(ctx, task.ID, link, final)
		if err == nil {
			return final, nil
		}
		lastErr = err
		switch {
		case errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound):
			t, err := j.Client.Task(ctx, task.ID)
			if err != nil {
				return "", err
			}
			if t.ResultURL == "" {
				return "", fmt.Errorf("the result link expired and the task no longer offers one (status %s)", t.Status)
			}
			link = t.ResultURL
		case errors.Is(err, ErrTransport), errors.Is(err, ErrServer), errors.Is(err, ErrRateLimited), errors.Is(err, errBadZip):
			// cut or damaged: fetch again after a pause
			if err := j.Clock.Sleep(ctx, j.Client.retry.backoff(attempt, 0)); err != nil {
				return "", err
			}
		default:
			return "", err
		}
	}
	return "", fmt.Errorf("result download failed %d times: %w", downloadAttempts, lastErr)
}

var errBadZip = errors.New("result file is not a complete XLSX (zip) file")

// fetchTo downloads into a private temp file beside final and renames it
// into place once it verifies as a whole zip.
func (j *Job) fetchTo(ctx context.Context, taskID, link, final string) error {
	f, err := os.CreateTemp(filepath.Dir(final), ".download-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	_, derr := j.Client.Download(ctx, taskID, link, f)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(derr, serr, cerr); err != nil {
		return err
	}
	if err := verifyZip(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	return syncDir(filepath.Dir(final))
}

// verifyArrow checks that path is a whole Arrow IPC file (its footer reads).
func verifyArrow(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		return err
	}
	r.Close()
	return nil
}

// verifyZip checks that path is a zip whose central directory is whole:
// a cut download fails here rather than halfway through parsing.
func verifyZip(path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadZip, err)
	}
	return zr.Close()
}
