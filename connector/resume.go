package connector

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// lostAdvice says what a lost creation means and what the user can do.
const lostAdvice = "the upstream may have created (and charged) a task for it, and it cannot be asked. " +
	"Rerunning would upload it again and may be charged twice; look for the task in the vendor's dashboard, " +
	"or rerun with --resubmit-lost to upload it again (one more creation charge, plus the polls)"

// ErrLostCreation means a chunk's task creation was sent but its answer never
// came: the upstream may have created (and charged) the task. It is not
// resubmitted unless Job.ResubmitLost says so.
var ErrLostCreation = errors.New("task creation answer lost")

// adopt takes over, for each chunk this journal has no task for, the task
// that a journal beside it (same API and user) holds for the same chunk
// content. So a job whose input changed, say rows appended, keeps the tasks
// of its unchanged chunks and pays only for the new ones. Tasks in an
// unfinished journal are shared too: the same chunk is never created twice,
// whichever job asks first.
func (j *Job) adopt() error {
	want := map[string]Chunk{}
	for _, c := range j.Plan.Chunks {
		if j.Journal.record(c.Hash).State == StateNew {
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
		adopted := ChunkRecord{Hash: hash, Index: c.Index, Numbers: len(c.Numbers), FirstRow: j.Plan.Origin(c.First),
			State: StateCreated, TaskID: rec.TaskID, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt}
		if err := j.Journal.put(adopted); err != nil {
			return fmt.Errorf("%s: %w", j.describe(c), err)
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
		if rec := j.Journal.record(c.Hash); rec.State == StateIntent {
			if len(lost) == 0 {
				first = rec
			}
			lost = append(lost, j.describe(c))
		}
	}
	if len(lost) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w at %s; %s",
		strings.Join(lost, "; "), ErrLostCreation, first.IntentAt.Format(time.RFC3339), lostAdvice)
}
