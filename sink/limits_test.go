package sink_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/internal/fuzzseed"
	"github.com/wadeep/wadeep/sink"
)

// stringsRecord is a one-column utf8 record; nil entries are nulls.
func stringsRecord(mem memory.Allocator, name string, vals []*string) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewStringBuilder(mem)
	defer b.Release()
	for _, v := range vals {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(*v)
		}
	}
	col := b.NewArray()
	defer col.Release()
	return array.NewRecordBatch(schema, []arrow.Array{col}, int64(len(vals)))
}

func writeAll(t *testing.T, format sink.Format, recs ...arrow.RecordBatch) ([]byte, error) {
	t.Helper()
	var out bytes.Buffer
	w, err := sink.New(&out, format, recs[0].Schema())
	require.NoError(t, err)
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			require.Equal(t, err, w.Close(), "Close returns the first error")
			return nil, err
		}
	}
	err = w.Close()
	return out.Bytes(), err
}

// A one-column CSV must not turn an empty cell into a blank line, which
// readers skip.
func TestCSVOneColumnEmptyCells(t *testing.T) {
	rec := stringsRecord(memory.DefaultAllocator, "note", []*string{ptr("a"), nil, ptr(""), ptr("b")})
	defer rec.Release()
	data, err := writeAll(t, sink.CSV, rec)
	require.NoError(t, err)
	require.Equal(t, "note\na\n\"\"\n\"\"\nb\n", string(data))
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, [][]string{{"note"}, {"a"}, {""}, {""}, {"b"}}, rows)
}

func TestXLSXCellTooLong(t *testing.T) {
	// 20,000 two-byte characters: 40,000 bytes but 20,000 UTF-16 units, as
	// Excel counts; this fits.
	fits := strings.Repeat("é", 20_000)
	// 16,384 emoji are 32,768 UTF-16 units: one too many.
	tooLong := strings.Repeat("🎉", 16_384)
	rec := stringsRecord(memory.DefaultAllocator, "note", []*string{&fits, nil, &tooLong})
	defer rec.Release()

	_, err := writeAll(t, sink.XLSX, rec)
	require.ErrorIs(t, err, sink.ErrExcelLimit)
	require.EqualError(t, err, `sink: xlsx: row 3, column "note" (A): 32768 characters exceeds Excel's limit of 32767 per cell`)

	ok := stringsRecord(memory.DefaultAllocator, "note", []*string{&fits, ptr(strings.Repeat("x", 32_767))})
	defer ok.Release()
	_, err = writeAll(t, sink.XLSX, ok)
	require.NoError(t, err)
}

func TestNaNAndInf(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64}}, nil)
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	b.AppendValues([]float64{1.5, math.NaN(), math.Inf(1)}, nil)
	col := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, 3)
	col.Release()
	defer rec.Release()

	data, err := writeAll(t, sink.CSV, rec)
	require.NoError(t, err)
	require.Equal(t, "x\n1.5\nNaN\n+Inf\n", string(data))
	_, err = writeAll(t, sink.JSONL, rec)
	require.EqualError(t, err, `sink: jsonl: row 2, column "x": NaN has no JSON representation`)
	_, err = writeAll(t, sink.XLSX, rec)
	require.EqualError(t, err, `sink: xlsx: row 2, column "x": NaN has no spreadsheet representation`)
	for _, f := range []sink.Format{sink.Arrow, sink.Parquet} {
		_, err = writeAll(t, f, rec)
		require.NoError(t, err, f)
	}
}

// TestArrowDictionaryOverflow: batches whose dictionaries together hold
// more values than the index type can address cannot share one file
// dictionary; the error names the column.
func TestArrowDictionaryOverflow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	schema := arrow.NewSchema([]arrow.Field{{Name: "category", Type: dt}}, nil)
	batch := func(from int) arrow.RecordBatch {
		b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
		defer b.Release()
		for i := from; i < from+60; i++ {
			require.NoError(t, b.AppendString(fmt.Sprintf("v%d", i)))
		}
		col := b.NewArray()
		defer col.Release()
		return array.NewRecordBatch(schema, []arrow.Array{col}, 60)
	}
	r1, r2, r3 := batch(0), batch(30), batch(90)
	defer r1.Release()
	defer r2.Release()
	defer r3.Release()

	var out bytes.Buffer
	w, err := sink.New(&out, sink.Arrow, schema, sink.WithAllocator(mem))
	require.NoError(t, err)
	require.NoError(t, w.Write(r1))
	require.NoError(t, w.Write(r2), "90 distinct values so far: fits in int8")
	err = w.Write(r3)
	require.EqualError(t, err, `sink: arrow: column "category" has more distinct values than its int8 dictionary index can hold (128)`)
	require.Equal(t, err, w.Close())
}

// FuzzTextCell: any string survives CSV and JSON lines as the standard
// readers see it. Seeded from testdata/cells.txt.
func FuzzTextCell(f *testing.F) {
	for _, s := range fuzzseed.Strings(f, "testdata/cells.txt") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec := stringsRecord(memory.DefaultAllocator, "s", []*string{&s, nil})
		defer rec.Release()

		data, err := writeAll(t, sink.JSONL, rec)
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		require.Len(t, lines, 2)
		var got, want struct{ S *string }
		require.NoError(t, json.Unmarshal([]byte(lines[0]), &got), lines[0])
		std, err := json.Marshal(map[string]string{"S": s}) // stdlib's handling of invalid UTF-8 is the reference
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(std, &want))
		require.Equal(t, *want.S, *got.S)
		require.Equal(t, `{"s":null}`, lines[1])

		data, err = writeAll(t, sink.CSV, rec)
		require.NoError(t, err)
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatalf("csv %q: %v", data, err)
		}
		require.Equal(t, [][]string{{"s"}, {strings.ReplaceAll(s, "\r\n", "\n")}, {""}}, rows)
	})
}
