package connector

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/wadeep/wadeep/arrowconv"
)

// ErrInputChanged means an input read a second time (by Enrich) is not what
// planning read: other columns, other rows or other values.
var ErrInputChanged = errors.New("the input changed between the passes")

// Source is one input as planning read it: its own columns, the one that
// held the numbers, and how many rows it had. Enrich reads the input again
// against it, so that the second pass cannot pick another column and notices
// an input that changed in between.
type Source struct {
	Name string
	// Fields are the input's own columns, in order: the header's names
	// (an empty one is column_N, N counting from 1; a repeated one gets a
	// suffix _2, _3, ...) and utf8 for txt, csv and xlsx; the schema's
	// fields for arrow and parquet. A .txt input, and a headerless
	// one-column csv or xlsx, has one column, value.
	Fields []arrow.Field
	Column int // index in Fields of the column holding the numbers
	// Candidates are the other headers that could have held the numbers,
	// best first: the CLI says which column it used and which it did not.
	Candidates []string
	Header     bool // csv, xlsx: the first non-blank record is the header
	Rows       int  // rows read, every shard's, blank ones included
}

// pickText records the one column of a text input.
func (s *Source) pickText() {
	if s == nil {
		return
	}
	s.Fields = []arrow.Field{{Name: "value", Type: arrow.BinaryTypes.String, Nullable: true}}
	s.Column, s.Header = 0, false
}

// pickCells records the columns of a csv or xlsx input from its first
// record (names when header is set, else the first row of data).
func (s *Source) pickCells(first []string, col int, header bool) {
	if s == nil {
		return
	}
	names := make([]string, len(first))
	if header {
		copy(names, first)
	}
	names = uniqueNames(names)
	s.Fields = make([]arrow.Field, len(names))
	for i, n := range names {
		s.Fields[i] = arrow.Field{Name: n, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	s.Column, s.Header = col, header
}

// pickFields records the columns of an Arrow or Parquet input.
func (s *Source) pickFields(schema *arrow.Schema, col int) {
	if s == nil {
		return
	}
	names := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i] = f.Name
	}
	names = uniqueNames(names)
	s.Fields = make([]arrow.Field, len(names))
	for i, f := range schema.Fields() {
		s.Fields[i] = arrow.Field{Name: names[i], Type: f.Type, Nullable: true, Metadata: f.Metadata}
	}
	s.Column, s.Header = col, false
}

// uniqueNames names empty columns (value for a lone one, else column_N) and
// suffixes repeated names with _2, _3, ..., so that every name is unique.
func uniqueNames(names []string) []string {
	out := make([]string, len(names))
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			n = "column_" + strconv.Itoa(i+1)
			if len(names) == 1 {
				n = "value"
			}
		}
		for k, base := 2, n; seen[n]; k++ {
			n = base + "_" + strconv.Itoa(k)
		}
		seen[n] = true
		out[i] = n
	}
	return out
}

// same reports whether the columns read now are the ones planning recorded.
func (s *Source) same(now *Source) error {
	if len(s.Fields) != len(now.Fields) || s.Column != now.Column || s.Header != now.Header {
		return s.changed(now)
	}
	for i, f := range s.Fields {
		if f.Name != now.Fields[i].Name || !arrow.TypeEqual(f.Type, now.Fields[i].Type) {
			return s.changed(now)
		}
	}
	return nil
}

func (s *Source) changed(now *Source) error {
	return fmt.Errorf("connector: %s: columns are now %s, were %s: %w", s.Name, fieldList(now.Fields), fieldList(s.Fields), ErrInputChanged)
}

func fieldList(fs []arrow.Field) string {
	if len(fs) == 0 {
		return "(none)"
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		if i == maxListed {
			parts = append(parts[:i], fmt.Sprintf("… %d in all", len(fs)))
			break
		}
		parts[i] = showName(f.Name, false) + " " + f.Type.String()
	}
	return strings.Join(parts, ", ")
}

// fullRow is one input row as the enrich pass reads it: what planning saw
// of it (row, value, blank) and the row's own cells, in one of two forms.
type fullRow struct {
	row   int
	value string
	blank bool
	// cells (txt, csv, xlsx) holds the row's text by column of
	// Source.Fields, "" for an empty or missing cell.
	cells []string
	// rec and i (arrow, parquet, records) are the batch holding the row
	// and its index in it; rec is valid during the call.
	rec arrow.RecordBatch
	i   int
}

// readRows reads an input a second time, row by row, with the column and
// header planning recorded in src. Row numbers and values are those
// planning's readValues gives (the same readers' rules, mirrored). The row
// is valid during the call to fn.
func readRows(ctx context.Context, in Input, src *Source, mem memory.Allocator, fn func(*fullRow) error) error {
	if in.Records != nil {
		return readRecordsRows(ctx, in, src, fn)
	}
	f, err := in.format()
	if err != nil {
		return err
	}
	switch f {
	case "jsonl":
		return fmt.Errorf("connector: %s: the enriched view does not read JSON lines inputs; convert it to CSV or Parquet first", in.Name)
	case "csv":
		return readCSVRows(ctx, in, src, fn)
	case "xlsx":
		return readXLSXRows(ctx, in, src, fn)
	case "arrow":
		return guarded(in, func() error { return readArrowRows(ctx, in, src, mem, fn) })
	case "parquet":
		return guarded(in, func() error { return readParquetRows(ctx, in, src, mem, fn) })
	}
	return readTextRows(ctx, in, src, fn)
}

// checkEvery is how many rows pass between two looks at the context.
const checkEvery = 4096

func readTextRows(ctx context.Context, in Input, src *Source, fn func(*fullRow) error) error {
	var now Source
	now.pickText()
	if err := src.same(&now); err != nil {
		return err
	}
	br := bufio.NewReaderSize(in.R, 64<<10)
	var long []byte
	r := &fullRow{cells: make([]string, 1)}
	for row := 1; ; row++ {
		if row%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		line, tooLong, err := readLine(br, &long)
		if err == io.EOF && line == nil {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("connector: %s: line %d: %w", in.Name, row, err)
		}
		if row == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		r.row, r.value = row, string(line)
		r.blank = len(bytes.TrimSpace(line)) == 0 && !tooLong
		r.cells[0] = r.value
		if ferr := fn(r); ferr != nil {
			return ferr
		}
		if err == io.EOF {
			return nil
		}
	}
}

func readCSVRows(ctx context.Context, in Input, src *Source, fn func(*fullRow) error) error {
	cr, header, err := openCSV(in)
	if cr == nil {
		return err
	}
	var now Source
	now.pickCells(header, src.Column, src.Header)
	if err := src.same(&now); err != nil {
		return err
	}
	col := src.Column
	r := &fullRow{cells: make([]string, len(src.Fields))}
	seen := func(row int, value string, blank bool) { r.row, r.value, r.blank = row, value, blank }
	emit := func(rec []string, line int) error {
		emitCell(rec, col, line, seen)
		for i := range r.cells {
			r.cells[i] = ""
			if i < len(rec) {
				r.cells[i] = rec[i]
			}
		}
		return fn(r)
	}
	if !src.Header {
		line, _ := cr.FieldPos(col)
		if err := emit(header, line); err != nil {
			return err
		}
	}
	for n := 1; ; n++ {
		if n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvError(in.Name, err)
		}
		line, _ := cr.FieldPos(0)
		if col < len(rec) {
			line, _ = cr.FieldPos(col)
		}
		if err := emit(rec, line); err != nil {
			return err
		}
	}
}

func readXLSXRows(ctx context.Context, in Input, src *Source, fn func(*fullRow) error) error {
	sr, err := in.section()
	if err != nil {
		return err
	}
	rows, err := arrowconv.NewRows(sr, in.Size, arrowconv.WithName(in.Name))
	if err != nil {
		return err // arrowconv's error names the file, sheet and cell
	}
	defer rows.Close()
	r := &fullRow{cells: make([]string, len(src.Fields))}
	setCells := func(cells [][]byte) {
		for i := range r.cells {
			r.cells[i] = ""
			if i < len(cells) {
				r.cells[i] = string(cells[i])
			}
		}
	}
	started := false
	for k := 1; rows.Next(); k++ {
		if k%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		n, cells := rows.Row()
		if !started {
			if isBlankCells(cells) {
				r.row, r.value, r.blank = n, "", true
				setCells(nil)
				if err := fn(r); err != nil {
					return err
				}
				continue
			}
			names := make([]string, len(cells))
			for i, c := range cells {
				names[i] = string(c)
			}
			var now Source
			now.pickCells(names, src.Column, src.Header)
			if err := src.same(&now); err != nil {
				return err
			}
			started = true
			if src.Header {
				continue
			}
		}
		r.row, r.value, r.blank = n, "", isBlankCells(cells)
		if src.Column < len(cells) {
			r.value = string(cells[src.Column])
		}
		setCells(cells)
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return nil
}

// batchRows hands on the rows of one batch of a table input.
type batchRows struct {
	in     Input
	src    *Source
	row    int // the last row number handed on
	values []string
	r      fullRow
}

func (b *batchRows) emit(ctx context.Context, rec arrow.RecordBatch, fn func(*fullRow) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var now Source
	now.pickFields(rec.Schema(), b.src.Column)
	if err := b.src.same(&now); err != nil {
		return err
	}
	b.values = b.values[:0]
	first := b.row + 1
	if err := emitColumn(b.in, rec.Column(b.src.Column), &b.row, func(_ int, v string, _ bool) {
		b.values = append(b.values, v)
	}); err != nil {
		return err
	}
	b.r.rec = rec
	for i, v := range b.values {
		b.r.row, b.r.value, b.r.blank, b.r.i = first+i, v, false, i
		if err := fn(&b.r); err != nil {
			return err
		}
	}
	b.r.rec = nil
	return nil
}

func readArrowRows(ctx context.Context, in Input, src *Source, mem memory.Allocator, fn func(*fullRow) error) error {
	sr, err := in.section()
	if err != nil {
		return err
	}
	r, err := openArrowFile(in, sr, mem)
	if err != nil {
		return err
	}
	defer r.Close()
	var now Source
	now.pickFields(r.Schema(), src.Column)
	if err := src.same(&now); err != nil {
		return err
	}
	b := &batchRows{in: in, src: src}
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		if err != nil {
			return fmt.Errorf("connector: %s: record batch %d: %w", in.Name, i, err)
		}
		if err := b.emit(ctx, rec, fn); err != nil {
			return err
		}
	}
	return nil
}

func readParquetRows(ctx context.Context, in Input, src *Source, mem memory.Allocator, fn func(*fullRow) error) error {
	sr, err := in.section()
	if err != nil {
		return err
	}
	pf, err := file.NewParquetReader(sr)
	if err != nil {
		return fmt.Errorf("connector: %s: not a Parquet file: %w", in.Name, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, mem)
	if err != nil {
		return fmt.Errorf("connector: %s: %w", in.Name, err)
	}
	schema, err := fr.Schema()
	if err != nil {
		return fmt.Errorf("connector: %s: %w", in.Name, err)
	}
	var now Source
	now.pickFields(schema, src.Column)
	if err := src.same(&now); err != nil {
		return err
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("connector: %s: %w", in.Name, err)
	}
	defer rr.Release()
	b := &batchRows{in: in, src: src}
	for rr.Next() {
		if err := b.emit(ctx, rr.RecordBatch(), fn); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("connector: %s: %w", in.Name, err)
	}
	return nil
}

func readRecordsRows(ctx context.Context, in Input, src *Source, fn func(*fullRow) error) error {
	var now Source
	now.pickFields(in.Records.Schema(), src.Column)
	if err := src.same(&now); err != nil {
		return err
	}
	b := &batchRows{in: in, src: src}
	for in.Records.Next() {
		if err := b.emit(ctx, in.Records.RecordBatch(), fn); err != nil {
			return err
		}
	}
	if err := in.Records.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("connector: %s: %w", in.Name, err)
	}
	return nil
}
