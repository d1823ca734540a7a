package sink

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// The real limit needs a million rows; the check is the same with a small one.
func TestXLSXTooManyRows(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues([]int64{1, 2, 3}, nil)
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, 3)
	defer rec.Release()

	for _, tc := range []struct {
		header bool
		msg    string
	}{
		{true, "sink: xlsx: row 5 exceeds Excel's limit of 5 rows per sheet, the header included; write .csv, .parquet or .arrow instead"},
		{false, "sink: xlsx: row 6 exceeds Excel's limit of 5 rows per sheet; write .csv, .parquet or .arrow instead"},
	} {
		var out bytes.Buffer
		s, err := newStream(&out, XLSX, schema, newConfig([]Option{WithHeader(tc.header)}))
		require.NoError(t, err)
		s.enc.(*xlsxEncoder).maxRows = 5
		require.NoError(t, s.Write(rec))
		err = s.Write(rec)
		require.ErrorIs(t, err, ErrExcelLimit)
		require.EqualError(t, err, tc.msg)
		require.Equal(t, err, s.Close())
	}
}
