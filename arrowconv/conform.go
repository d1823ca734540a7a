package arrowconv

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Conform returns rec with the columns of schema, matched by name: a column
// schema has and rec lacks comes out all null, and a column rec has that
// schema lacks is dropped and named in dropped. It serves result files whose
// pass-through columns differ from one task to the next, written into one
// output. The caller releases the returned batch.
func Conform(mem memory.Allocator, rec arrow.RecordBatch, schema *arrow.Schema) (out arrow.RecordBatch, dropped []string, err error) {
	if rec.Schema().Equal(schema) {
		rec.Retain()
		return rec, nil, nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, f := range schema.Fields() {
		idx := rec.Schema().FieldIndices(f.Name)
		if len(idx) == 0 {
			if !f.Nullable {
				return nil, nil, fmt.Errorf("arrowconv: batch lacks column %q, which cannot be null", f.Name)
			}
			cols[i] = array.MakeArrayOfNull(mem, f.Type, int(rec.NumRows()))
			continue
		}
		c := rec.Column(idx[0])
		if !arrow.TypeEqual(c.DataType(), f.Type) {
			return nil, nil, fmt.Errorf("arrowconv: column %q is %s, want %s", f.Name, c.DataType(), f.Type)
		}
		c.Retain()
		cols[i] = c
	}
	for _, f := range rec.Schema().Fields() {
		if !schema.HasField(f.Name) {
			dropped = append(dropped, f.Name)
		}
	}
	return array.NewRecordBatch(schema, cols, rec.NumRows()), dropped, nil
}
