package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/internal/ipcguard"
)

// Tables (XLSX, Arrow IPC, Parquet) are read by random access, so they need
// Input.RA and Input.Size: a file, not stdin.
func (in Input) section() (*io.SectionReader, error) {
	if in.RA == nil {
		return nil, fmt.Errorf("connector: %s: this format is read by random access; give a file, not stdin", in.Name)
	}
	return io.NewSectionReader(in.RA, 0, in.Size), nil
}

// readXLSX reads the phone column of the first worksheet; rows are sheet rows.
func readXLSX(in Input, src *Source, fn rowFunc) error {
	sr, err := in.section()
	if err != nil {
		return err
	}
	rows, err := arrowconv.NewRows(sr, in.Size, arrowconv.WithName(in.Name))
	if err != nil {
		return err // arrowconv's error names the file, sheet and cell
	}
	defer rows.Close()
	col, header := -1, true
	for rows.Next() {
		n, cells := rows.Row()
		if col < 0 {
			if isBlankCells(cells) {
				fn(n, "", true)
				continue
			}
			names := make([]string, len(cells))
			for i, c := range cells {
				names[i] = string(c)
			}
			pick, err := pickColumn(in, names, nil)
			if err != nil {
				return err
			}
			col, header = pick.col, pick.header
			src.pickCells(names, col, header)
			if src != nil {
				if src != nil {
					src.Candidates = pick.others
				}
			}
			if header {
				continue
			}
		}
		switch {
		case col < len(cells):
			fn(n, string(cells[col]), isBlankCells(cells))
		default:
			fn(n, "", isBlankCells(cells))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return nil
}

func isBlankCells(cells [][]byte) bool {
	for _, c := range cells {
		for _, b := range c {
			if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
				return false
			}
		}
	}
	return true
}

// guarded runs a third-party decoder over a user's file and turns its panic
// into an error: arrow-go's IPC reader (flatbuffers without bounds checks)
// and its Parquet reader panic on some malformed files, found by
// FuzzReadTable, and a library must not take its caller down with it.
func guarded(in Input, read func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if ob, ok := p.(*ipcguard.OverBudget); ok {
				err = fmt.Errorf("connector: %s: damaged file: its data %w", in.Name, ob)
				return
			}
			err = fmt.Errorf("connector: %s: malformed file: %v", in.Name, p)
		}
	}()
	return read()
}

// openArrowFile opens an Arrow IPC file input, its metadata checked first
// (arrow-go trusts the lengths in it: a small file that lies about them
// would have it allocate without bound, found by FuzzReadTable), its
// allocations through mem held to arrowBudget. Call it inside guarded,
// which turns an allocation over budget into the error.
func openArrowFile(in Input, sr *io.SectionReader, mem memory.Allocator) (*ipc.FileReader, error) {
	if err := ipcguard.CheckFile(sr, in.Size); err != nil {
		return nil, fmt.Errorf("connector: %s: damaged Arrow IPC file: %w", in.Name, err)
	}
	r, err := ipc.NewFileReader(sr, ipc.WithAllocator(ipcguard.NewBudget(mem, arrowBudget(in.Size))))
	if err != nil {
		return nil, fmt.Errorf("connector: %s: not an Arrow IPC file: %w", in.Name, err)
	}
	return r, nil
}

// arrowBudget bounds the bytes reading an Arrow IPC input of size bytes
// may hold at once: the batch being read, decompressed. An uncompressed
// file needs no more than its size; a compressed one declares each
// buffer's uncompressed length, and a file that lies (60 GB, in a file of a
// kilobyte) would otherwise end the process with an out-of-memory error.
func arrowBudget(size int64) int64 { return max(MaxArrowBatchMemory, 8*size) }

// MaxArrowBatchMemory is the least of arrowBudget: 1 GiB, room for a
// compressed batch of millions of rows.
const MaxArrowBatchMemory = 1 << 30

// readArrowIPC reads the phone column of an Arrow IPC file; rows count from 1.
func readArrowIPC(in Input, src *Source, fn rowFunc) error {
	sr, err := in.section()
	if err != nil {
		return err
	}
	r, err := openArrowFile(in, sr, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	defer r.Close()
	col, err := pickField(in, r.Schema(), src)
	if err != nil {
		return err
	}
	src.pickFields(r.Schema(), col)
	row := 0
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		if err != nil {
			return fmt.Errorf("connector: %s: record batch %d: %w", in.Name, i, err)
		}
		if err := emitColumn(in, rec.Column(col), &row, fn); err != nil {
			return err
		}
	}
	return nil
}

// readParquet reads only the phone column of a Parquet file, batch by batch.
func readParquet(in Input, src *Source, fn rowFunc) error {
	sr, err := in.section()
	if err != nil {
		return err
	}
	pf, err := file.NewParquetReader(sr)
	if err != nil {
		return fmt.Errorf("connector: %s: not a Parquet file: %w", in.Name, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("connector: %s: %w", in.Name, err)
	}
	schema, err := fr.Schema()
	if err != nil {
		return fmt.Errorf("connector: %s: %w", in.Name, err)
	}
	col, err := pickField(in, schema, src)
	if err != nil {
		return err
	}
	src.pickFields(schema, col)
	leaf := fr.Manifest.Fields[col]
	if !leaf.IsLeaf() {
		return fmt.Errorf("connector: %s: column %q is nested; want a column of text or integers", in.Name, schema.Field(col).Name)
	}
	rr, err := fr.GetRecordReader(context.Background(), []int{leaf.ColIndex}, nil)
	if err != nil {
		return fmt.Errorf("connector: %s: %w", in.Name, err)
	}
	defer rr.Release()
	row := 0
	for rr.Next() {
		if err := emitColumn(in, rr.RecordBatch().Column(0), &row, fn); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("connector: %s: %w", in.Name, err)
	}
	return nil
}

// readRecords reads the phone column of an Arrow stream the caller hands in.
func readRecords(in Input, src *Source, fn rowFunc) error {
	col, err := pickField(in, in.Records.Schema(), src)
	if err != nil {
		return err
	}
	src.pickFields(in.Records.Schema(), col)
	row := 0
	for in.Records.Next() {
		if err := emitColumn(in, in.Records.RecordBatch().Column(col), &row, fn); err != nil {
			return err
		}
	}
	if err := in.Records.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("connector: %s: %w", in.Name, err)
	}
	return nil
}

// pickField finds the phone column among a table's fields: never one whose
// type cannot hold a phone number (bool, float, date), however it is named.
func pickField(in Input, schema *arrow.Schema, src *Source) (int, error) {
	names := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		names[i] = f.Name
	}
	usable := func(i int) bool { return phoneColumnType(schema.Field(i).Type) }
	pick, err := pickColumn(in, names, usable)
	if err != nil {
		return 0, err
	}
	if !usable(pick.col) {
		return 0, fmt.Errorf("connector: %s: column %q is %s; want text or integers", in.Name, names[pick.col], schema.Field(pick.col).Type)
	}
	if src != nil {
		if src != nil {
			src.Candidates = pick.others
		}
	}
	return pick.col, nil
}

func phoneColumnType(t arrow.DataType) bool {
	switch t := t.(type) {
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return true
	case *arrow.DictionaryType:
		return phoneColumnType(t.ValueType)
	}
	return arrow.IsInteger(t.ID())
}

// emitColumn hands on each value of a column; nulls are empty values.
// Integers are written in decimal: a number stored without its "+".
func emitColumn(in Input, col arrow.Array, row *int, fn rowFunc) error {
	if d, ok := col.(*array.Dictionary); ok {
		for i := 0; i < d.Len(); i++ {
			*row++
			if d.IsNull(i) {
				fn(*row, "", false)
				continue
			}
			fn(*row, d.Dictionary().ValueStr(d.GetValueIndex(i)), false)
		}
		return nil
	}
	for i := 0; i < col.Len(); i++ {
		*row++
		if col.IsNull(i) {
			fn(*row, "", false)
			continue
		}
		switch c := col.(type) {
		case *array.String:
			fn(*row, c.Value(i), false)
		case *array.LargeString:
			fn(*row, c.Value(i), false)
		case *array.Int64:
			fn(*row, strconv.FormatInt(c.Value(i), 10), false)
		default:
			fn(*row, col.ValueStr(i), false)
		}
	}
	return nil
}
