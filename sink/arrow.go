package sink

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ipcEncoder writes an Arrow IPC file.
//
// The IPC file format allows one dictionary per field for the whole file,
// and arrow-go's FileWriter refuses replacements and deltas. Batches from a
// stream usually carry their own dictionaries, and the final dictionary is
// known only at the end. So when the schema has dictionary columns, Write
// re-encodes their indices against one growing dictionary per column and
// spills the batches (indices only) to a temporary IPC stream; Close writes
// the file from the spill with the final dictionaries. Memory stays bounded
// by the number of distinct dictionary values; the cost is a second pass
// over the data on local disk. Schemas without dictionaries go straight
// through.
type ipcEncoder struct {
	mem    memory.Allocator
	schema *arrow.Schema
	out    io.Writer

	fw *ipc.FileWriter // straight-through path

	memos       []*dictMemo // by column; nil for non-dictionary columns
	spillSchema *arrow.Schema
	spill       *os.File
	sw          *ipc.Writer
	finished    bool
}

func newIPC(out io.Writer, schema *arrow.Schema, cols []column, cfg config) (*ipcEncoder, error) {
	e := &ipcEncoder{mem: cfg.mem, schema: schema, out: out}
	fields := make([]arrow.Field, len(cols))
	hasDict := false
	e.memos = make([]*dictMemo, len(cols))
	for i, f := range schema.Fields() {
		fields[i] = f
		if dt, ok := f.Type.(*arrow.DictionaryType); ok {
			hasDict = true
			e.memos[i] = newDictMemo(f.Name, dt)
			fields[i] = arrow.Field{Name: f.Name, Type: dt.IndexType, Nullable: true}
		}
	}
	if !hasDict {
		fw, err := ipc.NewFileWriter(out, ipc.WithSchema(schema), ipc.WithAllocator(cfg.mem))
		if err != nil {
			return nil, fmt.Errorf("sink: arrow: %w", err)
		}
		e.fw = fw
		return e, nil
	}
	spill, err := os.CreateTemp(cfg.tempDir, "spill-*.arrows") // a private directory (see newStream)
	if err != nil {
		return nil, fmt.Errorf("sink: arrow: spill file: %w", err)
	}
	e.spill = spill
	e.spillSchema = arrow.NewSchema(fields, nil)
	e.sw = ipc.NewWriter(spill, ipc.WithSchema(e.spillSchema), ipc.WithAllocator(cfg.mem))
	return e, nil
}

func (e *ipcEncoder) write(rec arrow.RecordBatch, _ int64) error {
	if e.fw != nil {
		if err := e.fw.Write(rec); err != nil {
			return fmt.Errorf("sink: arrow: %w", err)
		}
		return nil
	}
	cols := make([]arrow.Array, rec.NumCols())
	var owned []arrow.Array
	defer func() {
		for _, a := range owned {
			a.Release()
		}
	}()
	for i, col := range rec.Columns() {
		if e.memos[i] == nil {
			cols[i] = col
			continue
		}
		idx, err := e.memos[i].remap(e.mem, col.(*array.Dictionary))
		if err != nil {
			return err
		}
		owned = append(owned, idx)
		cols[i] = idx
	}
	spilled := array.NewRecordBatch(e.spillSchema, cols, rec.NumRows())
	defer spilled.Release()
	if err := e.sw.Write(spilled); err != nil {
		return fmt.Errorf("sink: arrow: spill: %w", err)
	}
	return nil
}

func (e *ipcEncoder) finish() error {
	e.finished = true
	if e.fw != nil {
		if err := e.fw.Close(); err != nil {
			return fmt.Errorf("sink: arrow: %w", err)
		}
		return nil
	}
	if err := e.sw.Close(); err != nil {
		return fmt.Errorf("sink: arrow: spill: %w", err)
	}
	e.sw = nil
	if _, err := e.spill.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("sink: arrow: spill: %w", err)
	}

	dicts := make([]arrow.Array, len(e.memos))
	defer func() {
		for _, d := range dicts {
			if d != nil {
				d.Release()
			}
		}
	}()
	for i, m := range e.memos {
		if m != nil {
			dicts[i] = m.dictionary(e.mem)
		}
	}

	fw, err := ipc.NewFileWriter(e.out, ipc.WithSchema(e.schema), ipc.WithAllocator(e.mem))
	if err != nil {
		return fmt.Errorf("sink: arrow: %w", err)
	}
	if err := e.copySpill(fw, dicts); err != nil {
		_ = fw.Close() // frees its dictionaries; the gate drops the footer
		return err
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("sink: arrow: %w", err)
	}
	return nil
}

// copySpill writes every spilled batch to fw with the final dictionaries.
func (e *ipcEncoder) copySpill(fw *ipc.FileWriter, dicts []arrow.Array) error {
	r, err := ipc.NewReader(bufio.NewReaderSize(e.spill, 64<<10), ipc.WithAllocator(e.mem))
	if err != nil {
		return fmt.Errorf("sink: arrow: spill: %w", err)
	}
	defer r.Release()
	cols := make([]arrow.Array, len(dicts))
	for r.Next() {
		rec := r.RecordBatch()
		var owned []arrow.Array
		for i, col := range rec.Columns() {
			if dicts[i] == nil {
				cols[i] = col
				continue
			}
			d := array.NewDictionaryArray(e.schema.Field(i).Type, col, dicts[i])
			owned = append(owned, d)
			cols[i] = d
		}
		out := array.NewRecordBatch(e.schema, cols, rec.NumRows())
		err := fw.Write(out)
		out.Release()
		for _, a := range owned {
			a.Release()
		}
		if err != nil {
			return fmt.Errorf("sink: arrow: %w", err)
		}
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("sink: arrow: spill: %w", err)
	}
	return nil
}

func (e *ipcEncoder) release() error {
	var errs []error
	if e.fw != nil && !e.finished {
		_ = e.fw.Close() // the gate is shut: this only frees memory
	}
	if e.sw != nil {
		_ = e.sw.Close()
	}
	if e.spill != nil {
		errs = append(errs, e.spill.Close())
		if err := os.Remove(e.spill.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// dictMemo is one column's dictionary for the whole file: values in order of
// first appearance, so indices already spilled stay valid as it grows.
type dictMemo struct {
	field string
	typ   *arrow.DictionaryType
	max   int64 // largest index the index type can hold
	ids   map[string]int64
	vals  []string
	batch []int64 // per batch: batch dictionary index → file index
}

const (
	unmapped = -2 // not looked up yet in this batch
	nullDict = -1 // the batch dictionary's value is null
)

func newDictMemo(field string, dt *arrow.DictionaryType) *dictMemo {
	return &dictMemo{field: field, typ: dt, max: maxIndex(dt.IndexType), ids: make(map[string]int64)}
}

func maxIndex(dt arrow.DataType) int64 {
	switch dt.ID() {
	case arrow.INT8:
		return math.MaxInt8
	case arrow.UINT8:
		return math.MaxUint8
	case arrow.INT16:
		return math.MaxInt16
	case arrow.UINT16:
		return math.MaxUint16
	case arrow.INT32:
		return math.MaxInt32
	case arrow.UINT32:
		return math.MaxUint32
	}
	return math.MaxInt64
}

// remap returns d's indices rewritten against the file dictionary, which it
// extends with values it has not seen. Only values the batch uses are added.
func (m *dictMemo) remap(mem memory.Allocator, d *array.Dictionary) (arrow.Array, error) {
	values := d.Dictionary()
	strs := values.(stringValuer)
	m.batch = m.batch[:0]
	for range values.Len() {
		m.batch = append(m.batch, unmapped)
	}
	b := array.NewBuilder(mem, m.typ.IndexType)
	defer b.Release()
	b.Reserve(d.Len())
	for i := 0; i < d.Len(); i++ {
		if d.IsNull(i) {
			b.AppendNull()
			continue
		}
		j := d.GetValueIndex(i)
		id := m.batch[j]
		if id == unmapped {
			id = nullDict
			if values.IsValid(j) {
				var err error
				if id, err = m.lookup(strs.Value(j)); err != nil {
					return nil, err
				}
			}
			m.batch[j] = id
		}
		if id == nullDict {
			b.AppendNull()
			continue
		}
		appendIndex(b, id)
	}
	return b.NewArray(), nil
}

func (m *dictMemo) lookup(s string) (int64, error) {
	if id, ok := m.ids[s]; ok {
		return id, nil
	}
	id := int64(len(m.vals))
	if id > m.max {
		return 0, fmt.Errorf("sink: arrow: column %q has more distinct values than its %s dictionary index can hold (%d)",
			m.field, m.typ.IndexType, m.max+1)
	}
	s = strings.Clone(s) // s points into an Arrow buffer the caller will release
	m.ids[s] = id
	m.vals = append(m.vals, s)
	return id, nil
}

// dictionary returns the file dictionary as an array of the value type.
func (m *dictMemo) dictionary(mem memory.Allocator) arrow.Array {
	b := array.NewBuilder(mem, m.typ.ValueType)
	defer b.Release()
	app := b.(interface{ Append(string) }) // String or LargeString (kindOf)
	for _, v := range m.vals {
		app.Append(v)
	}
	return b.NewArray()
}

func appendIndex(b array.Builder, id int64) {
	switch b := b.(type) {
	case *array.Int8Builder:
		b.Append(int8(id))
	case *array.Uint8Builder:
		b.Append(uint8(id))
	case *array.Int16Builder:
		b.Append(int16(id))
	case *array.Uint16Builder:
		b.Append(uint16(id))
	case *array.Int32Builder:
		b.Append(int32(id))
	case *array.Uint32Builder:
		b.Append(uint32(id))
	case *array.Int64Builder:
		b.Append(id)
	case *array.Uint64Builder:
		b.Append(uint64(id))
	}
}
