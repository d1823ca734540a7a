package arrowconv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/wadeep/wadeep/internal/xlsx"
)

// Reader streams a result workbook as record batches of the profile schema.
// It implements array.RecordReader. Not safe for concurrent use.
type Reader struct {
	cfg     *config
	src     rowSource
	header  *headerMap
	b       *profileBuilder
	cur     arrow.RecordBatch
	err     error
	done    bool
	refs    int64
	closer  io.Closer // the file OpenFile opened, if any
	seen    map[string]struct{}
	expect  map[string]struct{}
	dropped int
	pending []string // expected numbers still to emit as failed, after the sheet
}

var _ array.RecordReader = (*Reader)(nil)

// OpenFile opens a result workbook; the Reader closes the file on Release.
func OpenFile(path string, opts ...Option) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("arrowconv: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("arrowconv: %w", err)
	}
	opts = append([]Option{WithName(filepath.Base(path))}, opts...)
	r, err := NewReader(f, st.Size(), opts...)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// NewReader reads a result workbook of size bytes from ra. It reads the
// header row before it returns, so a file that is not a result fails here.
// The caller must Release the Reader: on more than one CPU it inflates and
// scans the sheet on goroutines of its own, ahead of Next, and Release stops
// them. ra must stay readable until then. Limits against hostile files (see
// WithMaxUncompressed and the options after it) are on by default.
func NewReader(ra io.ReaderAt, size int64, opts ...Option) (*Reader, error) {
	cfg := newConfig(opts)
	src, err := xlsx.Open(ra, size, cfg.limits)
	if err != nil {
		return nil, positioned(err, cfg.name, "")
	}
	return newReader(cfg, src)
}

// newReader reads the header from src; on error it closes src.
func newReader(cfg *config, src rowSource) (*Reader, error) {
	r := &Reader{cfg: cfg, src: src, refs: 1}
	if err := r.readHeader(); err != nil {
		src.Close()
		return nil, err
	}
	r.b = newProfileBuilder(cfg.mem, r.header.extras, cfg.task, cfg.checkedAt)
	if len(cfg.expected) > 0 {
		r.seen = make(map[string]struct{}, len(cfg.expected))
		r.expect = make(map[string]struct{}, len(cfg.expected))
		for _, n := range cfg.expected {
			r.expect[n] = struct{}{}
		}
		r.b.keep = r.keep
	}
	return r, nil
}

func (r *Reader) readHeader() error {
	for r.src.Next() {
		n, cells := r.src.Row()
		if isBlankRow(cells) {
			continue
		}
		texts := make([]string, len(cells))
		for i, c := range cells {
			texts[i] = string(c)
		}
		h, err := mapHeader(texts, r.cfg.allowMissing)
		if err != nil {
			return &ParseError{File: r.cfg.name, Sheet: r.src.Sheet(), Row: n, Err: err}
		}
		r.header = h
		return nil
	}
	if err := r.src.Err(); err != nil {
		return positioned(err, r.cfg.name, r.src.Sheet())
	}
	return &ParseError{File: r.cfg.name, Sheet: r.src.Sheet(), Err: errors.New("sheet has no header row")}
}

// positioned makes err a *ParseError naming file and sheet, keeping the row
// and cell a source put in it.
func positioned(err error, file, sheet string) *ParseError {
	pe, ok := err.(*ParseError)
	if !ok {
		return &ParseError{File: file, Sheet: sheet, Err: err}
	}
	if pe.File == "" {
		pe.File = file
	}
	if pe.Sheet == "" {
		pe.Sheet = sheet
	}
	return pe
}

func isBlankRow(cells [][]byte) bool {
	for _, c := range cells {
		for _, ch := range c {
			if ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n' {
				return false
			}
		}
	}
	return true
}

// Schema is the profile schema, with the file's pass-through columns.
func (r *Reader) Schema() *arrow.Schema { return r.b.schema }

// Next reads the next batch; false at the end or on error (see Err).
func (r *Reader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil || r.done {
		return false
	}
	for r.b.rows < r.cfg.batchRows && r.b.bytes < r.cfg.batchBytes {
		if r.pending != nil {
			if len(r.pending) == 0 {
				r.done = true
				break
			}
			r.b.appendFailed(r.pending[0])
			r.pending = r.pending[1:]
			continue
		}
		if !r.src.Next() {
			if err := r.src.Err(); err != nil {
				r.err = positioned(err, r.cfg.name, r.src.Sheet())
				return false
			}
			r.startPending()
			continue
		}
		n, cells := r.src.Row()
		if isBlankRow(cells) {
			continue
		}
		number, cerr := r.b.appendRow(r.header, cells)
		if cerr != nil {
			r.err = &ParseError{File: r.cfg.name, Sheet: r.src.Sheet(), Row: n, Column: cerr.col + 1, Err: cerr.err}
			return false
		}
		if r.seen != nil && number != nil {
			r.seen[string(number)] = struct{}{}
		}
	}
	if r.b.rows == 0 {
		r.done = true
		return false
	}
	r.cur = r.b.newBatch()
	return true
}

// keep admits a result row only for an expected number not yet seen, so that
// the output has one row per uploaded number whatever the file holds.
func (r *Reader) keep(number []byte) bool {
	_, expected := r.expect[string(number)]
	_, seen := r.seen[string(number)]
	if !expected || seen {
		r.dropped++
		return false
	}
	return true
}

// Dropped is the number of result rows left out so far because, under
// WithExpected, their number was not expected or came again.
func (r *Reader) Dropped() int { return r.dropped }

// startPending queues the expected numbers the sheet did not have.
func (r *Reader) startPending() {
	r.pending = []string{}
	for _, n := range r.cfg.expected {
		if _, ok := r.seen[n]; !ok {
			r.pending = append(r.pending, n)
			r.seen[n] = struct{}{} // an expected number listed twice is emitted once
		}
	}
}

// RecordBatch is the current batch, valid until the next call to Next.
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is RecordBatch under its older name.
//
// Deprecated: use RecordBatch.
func (r *Reader) Record() arrow.RecordBatch { return r.cur }

// Err is the error that stopped Next, nil at a clean end.
func (r *Reader) Err() error { return r.err }

// Retain adds a reference.
func (r *Reader) Retain() { r.refs++ }

// Release drops a reference; the last one frees the batch, the builders and
// the file OpenFile opened.
func (r *Reader) Release() {
	r.refs--
	if r.refs > 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.b.release()
	r.src.Close()
	if r.closer != nil {
		r.closer.Close()
	}
}
