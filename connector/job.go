package connector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/wadeep/wadeep/arrowconv"
)

// Job runs a Plan through the upstream: creates a task per chunk (each
// recorded in the Journal before and after), watches them, downloads and
// converts their results. Rerunning a Job on the same Journal resumes it.
type Job struct {
	Client  *Client
	Plan    *Plan
	Journal *Journal

	// Out receives the profile batches, in chunk order, from one goroutine.
	// Every batch has the schema Schema returns. The batch is valid only
	// during the call.
	Out func(arrow.RecordBatch) error
	// Progress, if set, is called from one goroutine at a time as tasks move
	// and about once a second in between.
	Progress func(Progress)

	Parallel     int            // tasks in flight at once; 0 means 2
	Poll         PollPolicy     // zero fields take DefaultPollPolicy's
	Download     DownloadPolicy // zero fields take DefaultDownloadPolicy's; a zero RefreshGap takes Poll's floor
	Clock        Clock          // nil means the system clock
	ResubmitLost bool           // upload again chunks whose creation answer was lost (may be charged twice)
	// PassThrough names the upstream result columns beyond the profile
	// schema to keep in the output, in lower snake case, as nullable utf8.
	// Other unknown columns stay in the journal but are left out of Out's
	// batches, and Summary.LeftOut names them: the output's schema is fixed
	// before the first result arrives.
	PassThrough   []string
	ReaderOptions []arrowconv.Option
	Mem           memory.Allocator // nil means memory.DefaultAllocator

	// Cache, if set, serves the profiles of the plan's Cached numbers (see
	// Plan.UseCache): Run writes them to Out first, and every batch has a
	// last column source, "cache" or "upstream". Without a Cache the
	// schema has no source column.
	Cache Cache
	// ChunkDone, if set, is called after the last batch of each chunk went
	// to Out, from the goroutine that calls Out: a sink that commits per
	// chunk commits there.
	ChunkDone func(ChunkDone) error
}

// ChunkDone is one chunk's account, as Job.ChunkDone receives it.
type ChunkDone struct {
	Index      int // 0-based
	TaskID     string
	Numbers    int
	Profiles   int64
	Failed     int64
	Resumed    bool      // created by an earlier run
	CreatedAt  time.Time // the upstream's created_at, when known
	ExportedAt time.Time // the upstream's updated_at when it was exported
	// Calls are the charged calls this run made for the chunk: its creation
	// and the status calls while watching it (a status call to renew an
	// expired download link is in the run's total only).
	Creates, Statuses int64
}

// Schema is the schema of every batch Out receives: the profile schema
// (arrowconv.Schema) and the PassThrough columns, with the plan's privacy
// policy applied (PlanOptions.Privacy: columns dropped, the number column
// marked as a pseudonym). It is known before Run, so a caller can open its
// output first.
func (j *Job) Schema() (*arrow.Schema, error) {
	seen := map[string]bool{}
	for _, f := range arrowconv.Schema().Fields() {
		seen[f.Name] = true
	}
	for _, name := range j.PassThrough {
		switch {
		case arrowconv.NeverCarried(name):
			return nil, fmt.Errorf("connector: pass-through column %q: wadeep never carries it (docs/privacy.md)", name)
		case name == "" || !isSnakeName(name):
			return nil, fmt.Errorf("connector: pass-through column %q: want a lower snake case name, as result columns are named (e.g. %q)", name, "profile_url")
		case seen[name]:
			return nil, fmt.Errorf("connector: pass-through column %q: named twice, or a profile column", name)
		}
		seen[name] = true
	}
	schema := arrowconv.Schema(j.PassThrough...)
	if j.Plan != nil {
		var err error
		if schema, err = j.Plan.Options.Privacy.Schema(schema); err != nil {
			return nil, err
		}
	}
	if j.Cache != nil {
		return sourceSchema(schema), nil
	}
	return schema, nil
}

func isSnakeName(s string) bool {
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' && i > 0 || r == '_' && i > 0 && i < len(s)-1
		if !ok {
			return false
		}
	}
	return true
}

func (j *Job) mem() memory.Allocator {
	if j.Mem == nil {
		return memory.DefaultAllocator
	}
	return j.Mem
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
	Profiles   int64 // profile rows written, Cached included
	Failed     int64 // of which status = failed
	Cached     int64 // of which served from the Cache
	Tasks      int   // chunks, one task each
	Created    int   // tasks this run created
	Resumed    int   // tasks created by an earlier run
	Calls      Calls // this run's calls
	FixedPolls int64 // status calls that polling every 5 s would have made
	Dropped    int64 // result rows left out: numbers not uploaded, or repeated
	// LeftOut names the upstream columns that came in some result but are
	// not in the output's schema (see Job.PassThrough), sorted.
	LeftOut []string
}

// Run runs the job to the end or the first error. After an error (or a
// cancelled ctx) the journal holds everything done so far; running the job
// again resumes it.
func (j *Job) Run(ctx context.Context) (*Summary, error) {
	if j.Client == nil || j.Plan == nil || j.Journal == nil || j.Out == nil {
		return nil, errors.New("connector: Job needs Client, Plan, Journal and Out")
	}
	schema, err := j.Schema()
	if err != nil {
		return nil, err
	}
	if j.Clock == nil {
		j.Clock = realClock{}
	}
	parallel := j.Parallel
	if parallel <= 0 {
		parallel = 2
	}
	if len(j.Plan.Cached) > 0 && j.Cache == nil {
		return nil, errors.New("connector: the plan has numbers served from a cache (Plan.UseCache) but the Job no Cache")
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
	if sum.Cached, err = j.serveCached(ctx, schema); err != nil {
		return nil, err
	}
	sum.Profiles = sum.Cached
	leftOut := map[string]bool{}
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
		rows, failed, err := j.convert(c, res, schema, leftOut)
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
		if j.ChunkDone != nil {
			done := ChunkDone{Index: c.Index, TaskID: res.taskID, Numbers: len(c.Numbers), Profiles: rows, Failed: failed,
				Resumed: res.resumed, CreatedAt: res.createdAt, ExportedAt: res.updatedAt, Statuses: res.statuses}
			if res.created {
				done.Creates = 1
			}
			if err := j.ChunkDone(done); err != nil {
				return nil, err
			}
		}
		st.set(c.Index, func(p *ChunkProgress) { p.State = "converted" })
	}
	sum.Calls = j.Client.Calls().Snapshot().Sub(st.startCalls)
	for name := range leftOut {
		sum.LeftOut = append(sum.LeftOut, name)
	}
	slices.Sort(sum.LeftOut)
	st.report()
	return sum, nil
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
		rec, _, err := j.ensureTask(ctx, c, j.Journal.record(c.Hash), st)
		ids[i] = rec.TaskID
		if err != nil {
			return ids, err
		}
	}
	return ids, nil
}
