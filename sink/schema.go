package sink

import (
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/wadeep/wadeep/arrowconv"
)

// ErrNeverWritten is wrapped by the error for a column that no sink ever
// writes: race or ethnicity inferred from a face, which the project never
// carries (skin_color and its spellings are never written; DESIGN §3,
// docs/privacy.md).
var ErrNeverWritten = errors.New("never written (see docs/privacy.md)")

// ErrUnsupportedType is wrapped by the error for a column whose Arrow type no
// sink writes.
var ErrUnsupportedType = errors.New("unsupported column type")

// kind is how a column's values are read, independent of the output format.
type kind uint8

const (
	kindString kind = iota // utf8, large_utf8, utf8_view
	kindDict               // dictionary<integer, utf8 | large_utf8>
	kindBool
	kindInt
	kindUint
	kindFloat
	kindTimestamp
)

// column is a validated field of the writer's schema.
type column struct {
	name     string
	typ      arrow.DataType
	nullable bool
	kind     kind
	unit     arrow.TimeUnit // kindTimestamp
	layout   string         // kindTimestamp: RFC 3339 with the unit's digits
	bits     int            // kindFloat: 32 or 64, so float32 prints short
}

// columnsOf validates schema for every sink: no denied column, no duplicate
// names, only the types below. Every format accepts the same types, so a
// pipeline can switch formats without surprises.
func columnsOf(schema *arrow.Schema) ([]column, error) {
	if schema == nil {
		return nil, errors.New("sink: nil schema")
	}
	fields := schema.Fields()
	// The privacy check runs first so it wins over any other complaint.
	for _, f := range fields {
		if arrowconv.NeverCarried(f.Name) { // never written: the same deny list the reader drops on read
			return nil, fmt.Errorf("sink: column %s is %w", f.Name, ErrNeverWritten)
		}
	}
	seen := make(map[string]int, len(fields))
	cols := make([]column, len(fields))
	for i, f := range fields {
		if j, dup := seen[f.Name]; dup {
			// CSV headers, JSON keys and spreadsheet headers would be ambiguous.
			return nil, fmt.Errorf("sink: duplicate column name %q (fields %d and %d)", f.Name, j, i)
		}
		seen[f.Name] = i
		c := column{name: f.Name, typ: f.Type, nullable: f.Nullable}
		k, ok := kindOf(f.Type)
		if !ok {
			return nil, fmt.Errorf("sink: column %q has type %s: %w (want utf8, dictionary<int, utf8>, bool, int8-64, uint8-64, float32/64 or timestamp)",
				f.Name, f.Type, ErrUnsupportedType)
		}
		c.kind = k
		if ts, ok := f.Type.(*arrow.TimestampType); ok {
			c.unit = ts.Unit
			c.layout = timestampLayout(ts)
		}
		if k == kindFloat {
			c.bits = 64
			if f.Type.ID() == arrow.FLOAT32 {
				c.bits = 32
			}
		}
		cols[i] = c
	}
	return cols, nil
}

func kindOf(dt arrow.DataType) (kind, bool) {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return kindString, true
	case arrow.BOOL:
		return kindBool, true
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		return kindInt, true
	case arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return kindUint, true
	case arrow.FLOAT32, arrow.FLOAT64:
		return kindFloat, true
	case arrow.TIMESTAMP:
		return kindTimestamp, true
	case arrow.DICTIONARY:
		vt := dt.(*arrow.DictionaryType).ValueType.ID()
		if vt == arrow.STRING || vt == arrow.LARGE_STRING {
			return kindDict, true
		}
	}
	return 0, false
}

// timestampLayout is RFC 3339 with as many fraction digits as the unit has
// (2024-10-19T18:53:43.141Z for milliseconds). Values are written in UTC; a
// timestamp without a time zone is a wall-clock time and gets no offset.
func timestampLayout(ts *arrow.TimestampType) string {
	layout := "2006-01-02T15:04:05"
	switch ts.Unit {
	case arrow.Millisecond:
		layout += ".000"
	case arrow.Microsecond:
		layout += ".000000"
	case arrow.Nanosecond:
		layout += ".000000000"
	}
	if ts.TimeZone != "" {
		layout += "Z07:00"
	}
	return layout
}

// checkBatch reports whether rec can be written with cols: same names and
// types in the same order, and no nulls in a non-nullable column. Field
// metadata may differ; the writer's schema is what gets written.
func checkBatch(cols []column, rec arrow.RecordBatch) error {
	sc := rec.Schema()
	if sc.NumFields() != len(cols) {
		return fmt.Errorf("sink: batch has %d columns, the writer's schema %d", sc.NumFields(), len(cols))
	}
	for i := range cols {
		f := sc.Field(i)
		if f.Name != cols[i].name || !arrow.TypeEqual(f.Type, cols[i].typ) {
			return fmt.Errorf("sink: batch column %d is %q %s, the writer's schema has %q %s",
				i, f.Name, f.Type, cols[i].name, cols[i].typ)
		}
		if !cols[i].nullable && rec.Column(i).NullN() > 0 {
			return fmt.Errorf("sink: column %q is not nullable but the batch has %d nulls",
				cols[i].name, rec.Column(i).NullN())
		}
	}
	return nil
}

// view reads one column of one batch. The text formats (CSV, JSON lines,
// XLSX) share it, so a type is supported the same way everywhere. Accessors
// are chosen once per batch; per cell there is one switch on kind.
type view struct {
	col *column
	arr arrow.Array

	str   func(i int) string // kindString, kindDict
	i64   func(i int) int64
	u64   func(i int) uint64
	f64   func(i int) float64
	bools *array.Boolean
	ts    *array.Timestamp

	// Dictionary columns: a valid index may point at a null value.
	dict     *array.Dictionary
	dictNull arrow.Array // the dictionary when it has nulls, else nil
}

type stringValuer interface{ Value(i int) string }

func bind(cols []column, rec arrow.RecordBatch, views []view) []view {
	views = views[:0]
	for i := range cols {
		views = append(views, newView(&cols[i], rec.Column(i)))
	}
	return views
}

func newView(c *column, arr arrow.Array) view {
	v := view{col: c, arr: arr}
	switch a := arr.(type) {
	case stringValuer:
		v.str = a.Value
	case *array.Dictionary:
		values := a.Dictionary().(stringValuer)
		v.dict = a
		if a.Dictionary().NullN() > 0 {
			v.dictNull = a.Dictionary()
		}
		v.str = func(i int) string { return values.Value(a.GetValueIndex(i)) }
	case *array.Boolean:
		v.bools = a
	case *array.Int8:
		v.i64 = func(i int) int64 { return int64(a.Value(i)) }
	case *array.Int16:
		v.i64 = func(i int) int64 { return int64(a.Value(i)) }
	case *array.Int32:
		v.i64 = func(i int) int64 { return int64(a.Value(i)) }
	case *array.Int64:
		v.i64 = a.Value
	case *array.Uint8:
		v.u64 = func(i int) uint64 { return uint64(a.Value(i)) }
	case *array.Uint16:
		v.u64 = func(i int) uint64 { return uint64(a.Value(i)) }
	case *array.Uint32:
		v.u64 = func(i int) uint64 { return uint64(a.Value(i)) }
	case *array.Uint64:
		v.u64 = a.Value
	case *array.Float32:
		v.f64 = func(i int) float64 { return float64(a.Value(i)) }
	case *array.Float64:
		v.f64 = a.Value
	case *array.Timestamp:
		v.ts = a
	}
	return v
}

func (v *view) isNull(i int) bool {
	if v.arr.IsNull(i) {
		return true
	}
	return v.dictNull != nil && v.dictNull.IsNull(v.dict.GetValueIndex(i))
}

// time returns a timestamp cell in UTC.
func (v *view) time(i int) time.Time {
	return v.ts.Value(i).ToTime(v.col.unit)
}
