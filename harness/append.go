//go:build cgo

package harness

import (
	"database/sql/driver"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/duckdb/duckdb-go/v2"
)

// duckType is the DuckDB type a column of type t is stored as.
func duckType(t arrow.DataType) (string, error) {
	switch t := t.(type) {
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return "VARCHAR", nil
	case *arrow.DictionaryType:
		if _, ok := t.ValueType.(*arrow.StringType); ok {
			return "VARCHAR", nil
		}
	case *arrow.BooleanType:
		return "BOOLEAN", nil
	case *arrow.Int8Type:
		return "TINYINT", nil
	case *arrow.Int16Type:
		return "SMALLINT", nil
	case *arrow.Int32Type:
		return "INTEGER", nil
	case *arrow.Int64Type:
		return "BIGINT", nil
	case *arrow.Uint8Type:
		return "UTINYINT", nil
	case *arrow.Uint16Type:
		return "USMALLINT", nil
	case *arrow.Uint32Type:
		return "UINTEGER", nil
	case *arrow.Uint64Type:
		return "UBIGINT", nil
	case *arrow.Float32Type:
		return "FLOAT", nil
	case *arrow.Float64Type:
		return "DOUBLE", nil
	case *arrow.TimestampType:
		if t.TimeZone != "" {
			return "TIMESTAMPTZ", nil
		}
		return "TIMESTAMP", nil
	case *arrow.Date32Type:
		return "DATE", nil
	}
	return "", fmt.Errorf("harness: column type %s is not supported", t)
}

// getter returns column col's value at row i as the Appender takes it.
func getter(col arrow.Array) (func(i int) driver.Value, error) {
	switch a := col.(type) {
	case *array.String:
		return func(i int) driver.Value { return a.Value(i) }, nil
	case *array.LargeString:
		return func(i int) driver.Value { return a.Value(i) }, nil
	case *array.StringView:
		return func(i int) driver.Value { return a.Value(i) }, nil
	case *array.Dictionary:
		dict, ok := a.Dictionary().(*array.String)
		if !ok {
			break
		}
		return func(i int) driver.Value { return dict.Value(a.GetValueIndex(i)) }, nil
	case *array.Boolean:
		return func(i int) driver.Value { return a.Value(i) }, nil
	case *array.Int8:
		return func(i int) driver.Value { return a.Value(i) }, nil
	case *array.Int16:
		return func(i int) driver.Value { return a.Value(i) }, nil
	case *array.Int32:
		return func(i int) driver.Value { return a.Value(i) }, nil
	case *array.Int64:
		return func(i int) driver.Value { return a.Value(i) }, nil
	case *array.Uint8:
		return func(i int) driver.Value { return a.Value(i) }, nil
	case *array.Uint16:
		return func(i int) driver.Value { return a.Value(i) }, nil
	case *array.Uint32:
		return func(i int) driver.Value { return a.Value(i) }, nil
	case *array.Uint64:
		return func(i int) driver.Value { return a.Value(i) }, nil
	case *array.Float32:
		return func(i int) driver.Value { return a.Value(i) }, nil
	case *array.Float64:
		return func(i int) driver.Value { return a.Value(i) }, nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return func(i int) driver.Value { return a.Value(i).ToTime(unit).UTC() }, nil
	case *array.Date32:
		return func(i int) driver.Value { return a.Value(i).ToTime() }, nil
	}
	return nil, fmt.Errorf("harness: column type %s is not supported", col.DataType())
}

// appendRecord appends rec's columns cols (indexes into rec; -1 is null)
// as rows to app.
func appendRecord(app *duckdb.Appender, rec arrow.RecordBatch, cols []int) error {
	gets := make([]func(int) driver.Value, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for k, c := range cols {
		if c < 0 {
			continue
		}
		g, err := getter(rec.Column(c))
		if err != nil {
			return fmt.Errorf("%w (column %q)", err, rec.Schema().Field(c).Name)
		}
		gets[k], arrs[k] = g, rec.Column(c)
	}
	row := make([]driver.Value, len(cols))
	n := int(rec.NumRows())
	for i := 0; i < n; i++ {
		for k, g := range gets {
			if g == nil || arrs[k].IsNull(i) {
				row[k] = nil
				continue
			}
			row[k] = g(i)
		}
		if err := app.AppendRow(row...); err != nil {
			return fmt.Errorf("harness: row %d: %w", i+1, err)
		}
	}
	return nil
}
