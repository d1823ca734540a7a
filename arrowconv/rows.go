package arrowconv

import (
	"io"

	"github.com/wadeep/wadeep/internal/xlsx"
)

// Rows streams the cell text of a workbook's first worksheet, row by row,
// through the same scanner and limits as Reader. It serves tables that are
// not upstream results, such as a spreadsheet of phone numbers to check.
// Not safe for concurrent use; the caller must Close it.
type Rows struct {
	src  *xlsx.Rows
	name string
	err  error
}

// NewRows opens the workbook of size bytes in ra. Of the options, the limits
// and WithName apply.
func NewRows(ra io.ReaderAt, size int64, opts ...Option) (*Rows, error) {
	cfg := newConfig(opts)
	src, err := xlsx.Open(ra, size, cfg.limits)
	if err != nil {
		return nil, positioned(err, cfg.name, "")
	}
	return &Rows{src: src, name: cfg.name}, nil
}

// Next advances to the next row the sheet holds (possibly one without
// cells); false at the end or on an error (see Err).
func (r *Rows) Next() bool {
	if r.err != nil {
		return false
	}
	if r.src.Next() {
		return true
	}
	if err := r.src.Err(); err != nil {
		r.err = positioned(err, r.name, r.src.Sheet())
	}
	return false
}

// Row returns the current row's 1-based number in the sheet and the text of
// its cells by column (empty for an empty cell). Valid until Next.
func (r *Rows) Row() (int, [][]byte) { return r.src.Row() }

// Sheet is the name of the sheet being read.
func (r *Rows) Sheet() string { return r.src.Sheet() }

// Err is the error that stopped Next, nil at a clean end: a *ParseError.
func (r *Rows) Err() error { return r.err }

// Close releases the reader's goroutines and buffers.
func (r *Rows) Close() error { return r.src.Close() }
