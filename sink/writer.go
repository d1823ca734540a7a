package sink

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/wadeep/wadeep/internal/fsx"
)

// Writer streams record batches into one output; it is what code that only
// writes should accept. *File and *Stream implement it. Implementations are
// not safe for concurrent use.
//
// Write does not keep rec after it returns. The first error from Write or
// Close sticks: later calls return it, and the output is incomplete. Close
// finishes the output (footer, zip directory).
type Writer interface {
	Write(rec arrow.RecordBatch) error
	Close() error
}

// encoder is one format's half of a writer. Stream does the bookkeeping
// common to all formats (schema checks, sticky errors, buffering).
type encoder interface {
	// write encodes rec; first is the number of rows written before it, so
	// errors can name the output row.
	write(rec arrow.RecordBatch, first int64) error
	// finish writes whatever ends the format (footer, zip directory).
	finish() error
	// release frees buffers and temporary files, after finish or instead of it.
	release() error
}

var errClosed = errors.New("sink: write after close")

// Stream is a Writer to an io.Writer, returned by New. It is not safe for
// concurrent use.
type Stream struct {
	schema *arrow.Schema
	cols   []column
	enc    encoder
	out    *bufio.Writer
	gate   *gate // between enc and out
	rows   int64
	err    error // first error; sticks
	closed bool
	// tempDir is the private directory this Stream made for its spill
	// files, removed when it ends; "" when it made none (a File's Stream
	// spills into the File's own directory).
	tempDir string
}

var _ Writer = (*Stream)(nil)

// New returns a Stream that encodes batches of schema in format to w. The
// schema is checked here: an unsupported type, a duplicate name or a column
// that is never written (skin_color, DESIGN §3) is an error before any byte
// is written. Output is buffered. Call Close to finish the output or Abort
// to give it up; either frees temporary files and memory. Neither closes w.
func New(w io.Writer, format Format, schema *arrow.Schema, opts ...Option) (*Stream, error) {
	return newStream(w, format, schema, newConfig(opts))
}

func newStream(w io.Writer, format Format, schema *arrow.Schema, cfg config) (*Stream, error) {
	if !format.valid() {
		return nil, fmt.Errorf("sink: %w %q (supported: %s, %s, %s, %s, %s)", ErrUnknownFormat, format, CSV, JSONL, Arrow, Parquet, XLSX)
	}
	cols, err := columnsOf(schema)
	if err != nil {
		return nil, err
	}
	s := &Stream{schema: schema, cols: cols, out: bufio.NewWriterSize(w, 64<<10)}
	s.gate = &gate{w: s.out}
	if cfg.tempDir == "" && spills(format, schema) {
		// Not the shared temp directory itself: a private one (0700) in
		// it, so that the spill, or excelize's buffers, are out of other
		// users' reach whatever mode their code gives them, and removed
		// whole at the end. Those of killed writers are swept after a day.
		fsx.SweepStaleDirs(os.TempDir(), staleAge, tempPrefix)
		if s.tempDir, err = os.MkdirTemp("", tempPrefix+"*"); err != nil {
			return nil, fmt.Errorf("sink: %s: temporary directory: %w", format, err)
		}
		cfg.tempDir = s.tempDir
	}
	switch format {
	case CSV:
		s.enc, err = newCSV(s.gate, cols, cfg)
	case JSONL:
		s.enc, err = newJSONL(s.gate, cols)
	case Arrow:
		s.enc, err = newIPC(s.gate, schema, cols, cfg)
	case Parquet:
		s.enc, err = newParquet(s.gate, schema, cfg)
	case XLSX:
		s.enc, err = newXLSX(s.gate, cols, cfg)
	}
	if err != nil {
		return nil, errors.Join(err, s.removeTemp())
	}
	return s, nil
}

// spills reports whether a writer of format and schema makes temporary
// files: Arrow IPC with dictionary columns (see ipcEncoder), XLSX (excelize
// buffers rows on disk past 16 MiB).
func spills(format Format, schema *arrow.Schema) bool {
	switch format {
	case XLSX:
		return true
	case Arrow:
		for _, f := range schema.Fields() {
			if f.Type.ID() == arrow.DICTIONARY {
				return true
			}
		}
	}
	return false
}

// removeTemp removes the Stream's own temporary directory, if it made one.
func (s *Stream) removeTemp() error {
	if s.tempDir == "" {
		return nil
	}
	dir := s.tempDir
	s.tempDir = ""
	return removeDir(dir)
}

// Write encodes rec, which must have the schema given to New (field
// metadata may differ). It does not keep rec after it returns.
func (s *Stream) Write(rec arrow.RecordBatch) error {
	if s.closed {
		if s.err != nil {
			return s.err
		}
		return errClosed
	}
	if s.err != nil {
		return s.err
	}
	if rec == nil {
		s.err = errors.New("sink: nil record batch")
		return s.err
	}
	if err := checkBatch(s.cols, rec); err != nil {
		s.err = err
		return err
	}
	if !rec.Schema().Equal(s.schema) {
		// Only metadata or nullability differ (checkBatch): the Arrow and
		// Parquet writers insist on their own schema, so relabel.
		rec = array.NewRecordBatch(s.schema, rec.Columns(), rec.NumRows())
		defer rec.Release()
	}
	if err := s.enc.write(rec, s.rows); err != nil {
		s.err = err
		return err
	}
	s.rows += rec.NumRows()
	return nil
}

// Close finishes the output (footer, zip directory) and flushes it to w.
// It returns the first error of any Write or of finishing, joined with
// cleanup errors; later calls return the same.
func (s *Stream) Close() error {
	if s.closed {
		return s.err
	}
	s.closed = true
	if s.err == nil {
		s.err = s.enc.finish()
	}
	if s.err == nil {
		if err := s.out.Flush(); err != nil {
			s.err = fmt.Errorf("sink: %w", err)
		}
	}
	if s.err != nil {
		s.gate.shut = true
	}
	if err := errors.Join(s.enc.release(), s.removeTemp()); err != nil {
		s.err = errors.Join(s.err, err)
	}
	return s.err
}

// Abort gives the output up: nothing more reaches w (what was already
// flushed stays there, without a footer), and temporary files and memory are
// freed. Later Write and Close calls fail. After Close it does nothing. It
// returns cleanup errors only.
func (s *Stream) Abort() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.err == nil {
		s.err = errAborted
	}
	s.gate.shut = true
	return errors.Join(s.enc.release(), s.removeTemp())
}
