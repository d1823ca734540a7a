package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/internal/jsonl"
)

// readBackBatch bounds the rows of one batch read back from a text table.
const readBackBatch = 64 << 10

// readProfileTable reads a profile table wadeep wrote (csv, jsonl, arrow,
// parquet or xlsx) and hands its batches, of the profile schema, to out.
// ok is false, with nothing read, for an xlsx file that is not one (an
// upstream result workbook, which arrowconv.OpenFile reads instead).
func readProfileTable(path string, out func(arrow.RecordBatch) error) (ok bool, n int64, err error) {
	emit := func(rec arrow.RecordBatch) error {
		defer rec.Release()
		n += rec.NumRows()
		return out(rec)
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".xlsx":
		ok, err := readBackXLSX(path, emit)
		return ok, n, err
	case ".csv", ".tsv":
		return true, n, readBackCSV(path, ext == ".tsv", emit)
	case ".jsonl", ".ndjson", ".json":
		return true, n, readBackJSONL(path, emit)
	case ".arrow", ".ipc", ".feather", ".parquet":
		return true, n, readBackArrow(path, ext == ".parquet", emit)
	default:
		return false, 0, usagef("%s: unknown format %q (want a result .xlsx, or a wadeep output: .csv .jsonl .arrow .parquet .xlsx)", path, ext)
	}
}

// textTable feeds rows of text cells to a TextProfiles, batch by batch.
type textTable struct {
	name string
	tp   *arrowconv.TextProfiles
	emit func(arrow.RecordBatch) error
}

func (t *textTable) header(cells []string) (err error) {
	t.tp, err = arrowconv.NewTextProfiles(t.name, cells, memory.DefaultAllocator)
	return err
}

func (t *textTable) row(n int, cells []string) error {
	if err := t.tp.Append(n, cells); err != nil {
		return err
	}
	if t.tp.Len() >= readBackBatch {
		return t.emit(t.tp.NewRecordBatch())
	}
	return nil
}

func (t *textTable) finish() error {
	if t.tp == nil {
		return fmt.Errorf("%s: empty: no header", t.name)
	}
	defer t.tp.Release()
	return t.emit(t.tp.NewRecordBatch())
}

func readBackXLSX(path string, emit func(arrow.RecordBatch) error) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	rows, err := arrowconv.NewRows(f, st.Size(), arrowconv.WithName(path))
	if err != nil {
		return false, err
	}
	defer rows.Close()
	t := &textTable{name: path, emit: emit}
	for rows.Next() {
		n, raw := rows.Row()
		cells := make([]string, len(raw))
		for i, c := range raw {
			cells[i] = string(c)
		}
		if t.tp == nil {
			if !arrowconv.IsProfileTable(cells) {
				return false, nil
			}
			if err := t.header(cells); err != nil {
				return true, err
			}
			continue
		}
		if err := t.row(n, cells); err != nil {
			return true, err
		}
	}
	if err := rows.Err(); err != nil {
		return true, err
	}
	return true, t.finish()
}

func readBackCSV(path string, tab bool, emit func(arrow.RecordBatch) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReader(f))
	if tab {
		cr.Comma = '\t'
	}
	cr.FieldsPerRecord = -1
	t := &textTable{name: path, emit: emit}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return t.finish()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		if t.tp == nil {
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
			if err := t.header(rec); err != nil {
				return err
			}
			continue
		}
		if err := t.row(line, rec); err != nil {
			return err
		}
	}
}

// readBackJSONL reads one JSON object a line; the first line's keys, in
// their order, are the header.
func readBackJSONL(path string, emit func(arrow.RecordBatch) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	t := &textTable{name: path, emit: emit}
	var index map[string]int
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		keys, vals, err := jsonl.Object(sc.Bytes())
		if err != nil {
			return fmt.Errorf("%s: line %d: %w", path, line, err)
		}
		if t.tp == nil {
			if err := t.header(keys); err != nil {
				return err
			}
			index = map[string]int{}
			for i, k := range keys {
				index[k] = i
			}
		}
		cells := make([]string, len(index))
		for i, k := range keys {
			j, ok := index[k]
			if !ok {
				return fmt.Errorf("%s: line %d: key %q is not in the first line", path, line, k)
			}
			cells[j] = vals[i]
		}
		if err := t.row(line, cells); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return t.finish()
}

// readBackArrow reads an Arrow IPC or Parquet output, whose columns keep
// their types, and conforms each batch to the profile schema.
func readBackArrow(path string, parquet bool, emit func(arrow.RecordBatch) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var schema *arrow.Schema
	var next func() (arrow.RecordBatch, error)
	if parquet {
		pf, err := file.NewParquetReader(f)
		if err != nil {
			return fmt.Errorf("%s: not a Parquet file: %w", path, err)
		}
		defer pf.Close()
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: readBackBatch}, memory.DefaultAllocator)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rr, err := fr.GetRecordReader(context.Background(), nil, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer rr.Release()
		schema = rr.Schema()
		next = func() (arrow.RecordBatch, error) {
			if !rr.Next() {
				return nil, rr.Err()
			}
			return rr.RecordBatch(), nil
		}
	} else {
		r, err := ipc.NewFileReader(f)
		if err != nil {
			return fmt.Errorf("%s: not an Arrow IPC file: %w", path, err)
		}
		defer r.Close()
		schema = r.Schema()
		i := 0
		next = func() (arrow.RecordBatch, error) {
			if i >= r.NumRecords() {
				return nil, nil
			}
			i++
			return r.RecordBatch(i - 1)
		}
	}
	names := make([]string, schema.NumFields())
	var extra []string
	fixed := arrowconv.Schema()
	for i, fl := range schema.Fields() {
		names[i] = fl.Name
		if arrowconv.NeverCarried(fl.Name) {
			return fmt.Errorf("%s: column %q is data wadeep never carries (docs/privacy.md)", path, fl.Name)
		}
		if !fixed.HasField(fl.Name) {
			extra = append(extra, fl.Name)
		}
	}
	if !arrowconv.IsProfileTable(names) {
		return fmt.Errorf("%s: not a profile table wadeep wrote (want columns number, status, age_min, age_max)", path)
	}
	want := arrowconv.Schema(extra...)
	for {
		rec, err := next()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if rec == nil {
			return nil
		}
		out, _, err := arrowconv.Conform(memory.DefaultAllocator, rec, want)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := emit(out); err != nil {
			return err
		}
	}
}
