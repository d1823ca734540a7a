package plugin

import (
	"errors"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Reader is the stream Read returns: an array.RecordReader of the profiles
// that also offers the latest Progress and a Checkpoint after each batch.
// RecordBatch is valid until the next call of Next or Release. The first
// error sticks: Next returns false and Err returns it. Not safe for
// concurrent use; the caller releases it, which stops the stream (and, in
// process, the job) if it has not ended.
type Reader struct {
	schema *arrow.Schema
	src    source
	cur    arrow.RecordBatch
	cp     Checkpoint
	prog   Progress
	err    error
	done   bool
	refs   atomic.Int64
}

var _ array.RecordReader = (*Reader)(nil)

// event is one item of a stream: a batch with the checkpoint after it, or
// a progress snapshot.
type event struct {
	rec  arrow.RecordBatch // owned by the receiver
	pos  position          // where rec starts in the job's stream
	cp   Checkpoint        // the position after rec
	prog *Progress
}

// source is one side's stream of events; next returns io.EOF at its end.
type source interface {
	next() (event, error)
	close()
}

func newReader(schema *arrow.Schema, src source) *Reader {
	r := &Reader{schema: schema, src: src}
	r.refs.Store(1)
	return r
}

// Schema is the schema of every batch, known before the first.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Next moves to the next batch; false at the end of the stream or on error.
func (r *Reader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.done || r.err != nil {
		return false
	}
	for {
		ev, err := r.src.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.err = err
			}
			r.done = true
			return false
		}
		if ev.prog != nil {
			r.prog = *ev.prog
			continue
		}
		r.cur, r.cp = ev.rec, ev.cp
		return true
	}
}

// RecordBatch is the current batch, valid until the next Next or Release.
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is RecordBatch.
//
// Deprecated: use RecordBatch.
func (r *Reader) Record() arrow.RecordBatch { return r.cur }

// Err is the error that ended the stream; nil at a clean end.
func (r *Reader) Err() error { return r.err }

// Checkpoint is the position after the current batch (nil before the
// first): Read with FromCheckpoint(cp) resumes there.
func (r *Reader) Checkpoint() Checkpoint { return append(Checkpoint(nil), r.cp...) }

// Progress is the latest progress seen on the stream.
func (r *Reader) Progress() Progress { return r.prog }

// Retain adds a reference.
func (r *Reader) Retain() { r.refs.Add(1) }

// Release drops a reference; the last one releases the current batch and
// ends the stream.
func (r *Reader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.done = true
	r.src.close()
}
