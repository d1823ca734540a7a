package connector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"
)

// advance takes one chunk from wherever the journal says it is to a verified
// result file on disk.
func (j *Job) advance(ctx context.Context, c Chunk, st *runState) (chunkResult, error) {
	rec := j.Journal.record(c.Hash)
	res := chunkResult{resumed: rec.State != StateNew && rec.State != StateIntent}
	where := j.describe(c)

	if rec.State == StateDownloaded {
		if err := verifyArrow(j.Journal.resultPath(c.Hash)); err == nil {
			st.set(c.Index, func(p *ChunkProgress) {
				p.TaskID, p.State, p.Done, p.Resumed = rec.TaskID, "downloaded", len(c.Numbers), true
			})
			res.path, res.taskID, res.updatedAt, res.dropped, res.createdAt = j.Journal.resultPath(c.Hash), rec.TaskID, rec.UpdatedAt, rec.Dropped, rec.CreatedAt
			return res, nil
		}
		rec.State = StateExported // the kept file is gone or damaged: fetch it again
	}
	rec, created, err := j.ensureTask(ctx, c, rec, st)
	if err != nil {
		return res, err
	}
	res.taskID, res.createdAt, res.created = rec.TaskID, rec.CreatedAt, created != nil
	where = fmt.Sprintf("%s, task %s", where, rec.TaskID)

	task, err := j.watch(ctx, c, rec, created, st, &res.statuses)
	if errors.Is(err, ErrNotFound) {
		return res, fmt.Errorf("%s: %w; the upstream no longer knows this task (expired, or another user id?): "+
			"check --user-id, or start afresh with another --state directory (the chunk is then created and charged again)", where, err)
	}
	if err != nil {
		return res, fmt.Errorf("%s: %w", where, err)
	}
	if rec.State != StateExported {
		rec.State, rec.UpdatedAt = StateExported, task.UpdatedAt
		if err := j.Journal.put(rec); err != nil {
			return res, fmt.Errorf("%s: %w", where, err)
		}
	}
	if !task.CreatedAt.IsZero() && !task.UpdatedAt.IsZero() {
		res.fixedPolls = int64(task.UpdatedAt.Sub(task.CreatedAt)/(5*time.Second)) + 1
	}

	st.set(c.Index, func(p *ChunkProgress) { p.State = "downloading" })
	xlsx, err := j.download(ctx, c, task)
	if err != nil {
		return res, fmt.Errorf("%s: %w", where, err)
	}
	dropped, err := j.keep(c, rec.TaskID, task.UpdatedAt, xlsx)
	if err != nil {
		return res, fmt.Errorf("%s: %w", where, err)
	}
	path := j.Journal.resultPath(c.Hash)
	rec.State, rec.ResultFile, rec.UpdatedAt, rec.Dropped = StateDownloaded, filepath.Base(path), task.UpdatedAt, dropped
	if err := j.Journal.put(rec); err != nil {
		return res, fmt.Errorf("%s: %w", where, err)
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
	rec = ChunkRecord{Hash: c.Hash, Index: c.Index, Numbers: len(c.Numbers), FirstRow: j.Plan.Origin(c.First), State: StateIntent, IntentAt: j.Clock.Now().UTC()}
	if err := j.Journal.put(rec); err != nil {
		return rec, nil, fmt.Errorf("%s: %w", where, err)
	}
	if err := ctx.Err(); err != nil {
		// Stopped while the intent was written: nothing was sent.
		rec.State = StateNew
		return rec, nil, errors.Join(err, j.Journal.put(rec))
	}
	st.set(c.Index, func(p *ChunkProgress) { p.State = "creating" })
	t, err := j.Client.CreateTask(ctx, fmt.Sprintf("chunk-%04d.txt", c.Index+1), c.Body())
	if err != nil {
		var ae *APIError
		switch {
		case !errors.As(err, &ae) || createRefused(err):
			// Stopped before sending, or a definite refusal: the upstream
			// created nothing.
			rec.State = StateNew
			if perr := j.Journal.put(rec); perr != nil {
				err = errors.Join(err, perr)
			}
		case ae.StatusCode == http.StatusOK && ae.TaskID != "":
			// Created, but the answer breaks the contract: keep the task so
			// that no rerun pays for it again.
			rec.State, rec.TaskID = StateCreated, ae.TaskID
			if perr := j.putCreated(rec); perr != nil {
				err = errors.Join(err, perr)
			}
		default:
			// The request may have arrived: the intent stays, so that a
			// rerun does not pay twice without being told, and this run
			// already says what that means.
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				return rec, nil, fmt.Errorf("%s: %w: %w; %s", where, ErrLostCreation, err, lostAdvice)
			}
		}
		return rec, nil, fmt.Errorf("%s: %w", where, err)
	}
	rec.State, rec.TaskID, rec.CreatedAt, rec.UpdatedAt = StateCreated, t.ID, t.CreatedAt, t.UpdatedAt
	if err := j.putCreated(rec); err != nil {
		return rec, nil, fmt.Errorf("%s: %w", where, err)
	}
	return rec, t, nil
}

// putCreated journals a created task, trying a few times: losing the task
// id would make the next run stop on a lost creation.
func (j *Job) putCreated(rec ChunkRecord) error {
	var err error
	for try := 0; try < 3; try++ {
		if err = j.Journal.put(rec); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond << try)
	}
	return fmt.Errorf("task %s was created but could not be journaled (note its id; the next run will call this chunk's creation lost): %w", rec.TaskID, err)
}

// describe names a chunk for errors: its number and where its rows start.
func (j *Job) describe(c Chunk) string {
	o := j.Plan.Origin(c.First)
	return fmt.Sprintf("chunk %d of %d (%d numbers from %s row %d)", c.Index+1, len(j.Plan.Chunks), len(c.Numbers), o.File, o.Row)
}

// watch polls the task until it is exported and returns its last state.
// created is the creation answer, when this run created the task.
// statuses counts the status calls answered.
func (j *Job) watch(ctx context.Context, c Chunk, rec ChunkRecord, created *Task, st *runState, statuses *int64) (*Task, error) {
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
		*statuses++
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
