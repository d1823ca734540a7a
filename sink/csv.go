package sink

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
)

// csvEncoder formats cells itself over encoding/csv rather than using
// arrow-go's arrow/csv Writer, which (v18.8) panics on dictionary columns,
// writes timestamps as "2006-01-02 15:04:05Z" rather than RFC 3339, writes
// nulls as "NULL" unless told otherwise, and converts a whole batch to
// [][]string before writing a row.
type csvEncoder struct {
	bw      *bufio.Writer // shared with w, see writeRow
	w       *csv.Writer
	cols    []column
	views   []view
	row     []string
	scratch []byte
}

func newCSV(w io.Writer, cols []column, cfg config) (*csvEncoder, error) {
	// csv.NewWriter reuses a *bufio.Writer of sufficient size rather than
	// wrapping it, so e.bw and e.w write to one buffer, in order.
	bw := bufio.NewWriterSize(w, 4096)
	e := &csvEncoder{bw: bw, w: csv.NewWriter(bw), cols: cols, row: make([]string, len(cols))}
	if cfg.header {
		for i, c := range cols {
			e.row[i] = c.name
		}
		if err := e.writeRow(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// writeRow writes e.row. A row of one empty field would be a blank line,
// which CSV readers skip, losing the row; it is written as "" instead.
func (e *csvEncoder) writeRow() error {
	var err error
	if len(e.row) == 1 && e.row[0] == "" {
		_, err = e.bw.WriteString("\"\"\n")
	} else {
		err = e.w.Write(e.row)
	}
	if err != nil {
		return fmt.Errorf("sink: csv: %w", err)
	}
	return nil
}

func (e *csvEncoder) write(rec arrow.RecordBatch, _ int64) error {
	e.views = bind(e.cols, rec, e.views)
	n := int(rec.NumRows())
	for i := 0; i < n; i++ {
		for j := range e.views {
			e.row[j] = e.cell(&e.views[j], i)
		}
		if err := e.writeRow(); err != nil {
			return err
		}
	}
	// Surface I/O errors per batch.
	e.w.Flush()
	if err := e.w.Error(); err != nil {
		return fmt.Errorf("sink: csv: %w", err)
	}
	return nil
}

// cell formats one value; null is the empty string, as most CSV readers
// (DuckDB, pandas, Spark) read it.
func (e *csvEncoder) cell(v *view, i int) string {
	if v.isNull(i) {
		return ""
	}
	switch v.col.kind {
	case kindString, kindDict:
		return v.str(i)
	case kindBool:
		return strconv.FormatBool(v.bools.Value(i))
	case kindInt:
		return strconv.FormatInt(v.i64(i), 10)
	case kindUint:
		return strconv.FormatUint(v.u64(i), 10)
	case kindFloat:
		return strconv.FormatFloat(v.f64(i), 'g', -1, v.col.bits)
	case kindTimestamp:
		e.scratch = v.time(i).AppendFormat(e.scratch[:0], v.col.layout)
		return string(e.scratch)
	}
	return ""
}

func (e *csvEncoder) finish() error {
	e.w.Flush()
	if err := e.w.Error(); err != nil {
		return fmt.Errorf("sink: csv: %w", err)
	}
	return nil
}

func (e *csvEncoder) release() error { return nil }
