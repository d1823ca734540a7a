package connector

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/sink"
)

// chunkResult is a chunk whose profiles are kept on disk, verified.
type chunkResult struct {
	path       string // the kept profiles, an Arrow IPC file
	dropped    int    // result rows left out (see Summary.Dropped)
	taskID     string
	updatedAt  time.Time
	resumed    bool
	fixedPolls int64
	createdAt  time.Time
	created    bool  // this run created the task
	statuses   int64 // status calls this run made while watching it
	err        error
}

// convert streams one chunk's kept profiles to Out, conformed to schema;
// the columns left out are added to leftOut.
func (j *Job) convert(c Chunk, res chunkResult, schema *arrow.Schema, leftOut map[string]bool) (rows, failed int64, err error) {
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
		out, dropped, err := j.conform(rec, schema)
		if err != nil {
			return rows, failed, fmt.Errorf("connector: chunk %d (task %s): kept profiles %s: %w", c.Index+1, res.taskID, res.path, err)
		}
		for _, name := range dropped {
			leftOut[name] = true
		}
		err = j.Out(out)
		out.Release()
		if err != nil {
			return rows, failed, err
		}
	}
	return rows, failed, nil
}

// keep converts a downloaded result workbook into the chunk's profiles,
// kept in the journal as an Arrow IPC file, and deletes the workbook: it
// holds a column wadeep never carries (docs/privacy.md), and the Arrow file
// is what a resumed run reads. On a parse error the workbook is deleted all
// the same, for the same reason, and the error says so: the task stays
// exported in the journal, so a rerun fetches it again for free.
func (j *Job) keep(c Chunk, taskID string, updatedAt time.Time, xlsx string) (dropped int, err error) {
	defer func() {
		if rerr := os.Remove(xlsx); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}()
	opts := append([]arrowconv.Option{arrowconv.WithTask(taskID, updatedAt), arrowconv.WithExpected(c.Numbers.Strings()), arrowconv.WithAllocator(j.mem())}, j.ReaderOptions...)
	r, err := arrowconv.OpenFile(xlsx, opts...)
	if err != nil {
		return 0, unreadableResult(err)
	}
	defer r.Release()
	w, err := sink.Create(j.Journal.resultPath(c.Hash), r.Schema())
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
		return 0, unreadableResult(err)
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	return r.Dropped(), nil
}

func unreadableResult(err error) error {
	return fmt.Errorf("%w (the downloaded result file was deleted, as it holds a column wadeep never carries; "+
		"rerunning fetches it again at no charge; \"wadeep download TASK --out FILE\" converts it on its own)", err)
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
