package sink_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/wadeep/wadeep/sink"
)

// writeFile writes recs to path with Create and returns the checked
// allocator's owner a chance to assert no leaks.
func writeFile(t *testing.T, mem memory.Allocator, path string, schema *arrow.Schema, recs []arrow.RecordBatch, opts ...sink.Option) {
	t.Helper()
	w, err := sink.Create(path, schema, append([]sink.Option{sink.WithAllocator(mem)}, opts...)...)
	require.NoError(t, err)
	for _, rec := range recs {
		require.NoError(t, w.Write(rec))
	}
	require.NoError(t, w.Close())
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		ext   string
		check func(t *testing.T, mem memory.Allocator, path string, schema *arrow.Schema, recs []arrow.RecordBatch)
	}{
		{".csv", checkCSV},
		{".jsonl", checkJSONL},
		{".arrow", checkArrow},
		{".parquet", checkParquet},
		{".xlsx", checkXLSX},
	} {
		t.Run(tc.ext, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			schema := profileSchema()
			recs := buildBatches(t, mem, schema)
			defer release(recs)

			dir := t.TempDir()
			path := filepath.Join(dir, "profiles"+tc.ext)
			writeFile(t, mem, path, schema, recs)

			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Len(t, entries, 1, "only the output is left: no temporary or spill files")
			info, err := os.Stat(path)
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

			tc.check(t, mem, path, schema, recs)
		})
	}
}

func checkCSV(t *testing.T, _ memory.Allocator, path string, schema *arrow.Schema, _ []arrow.RecordBatch) {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	got, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)

	want := [][]string{fieldNames(schema)}
	for _, r := range allRows() {
		var row []string
		for _, c := range textCells(r) {
			if c == nil {
				row = append(row, "")
				continue
			}
			// encoding/csv's reader turns \r\n inside a quoted field into \n.
			row = append(row, strings.ReplaceAll(*c, "\r\n", "\n"))
		}
		want = append(want, row)
	}
	require.Equal(t, want, got)

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(raw), "\n+819012345678,JP,failed,,,,,,,,,,")
	require.Contains(t, string(raw), ",2024-10-19T18:53:43.141Z,")
}

func checkJSONL(t *testing.T, _ memory.Allocator, path string, schema *arrow.Schema, _ []arrow.RecordBatch) {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	rows := allRows()
	n := 0
	for sc.Scan() {
		require.Less(t, n, len(rows), "more lines than rows")
		keys, vals := decodeObject(t, sc.Bytes())
		require.Equal(t, fieldNames(schema), keys, "keys in schema order")
		require.Equal(t, jsonValues(rows[n]), vals, "line %d", n+1)
		n++
	}
	require.NoError(t, sc.Err())
	require.Equal(t, len(rows), n)
}

// decodeObject reads one flat JSON object, keeping key order.
func decodeObject(t *testing.T, line []byte) ([]string, []any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	var keys []string
	var vals []any
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		v, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		vals = append(vals, v)
	}
	tok, err = dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('}'), tok)
	_, err = dec.Token()
	require.ErrorIs(t, err, io.EOF, "one object per line")
	return keys, vals
}

func jsonValues(r profile) []any {
	s := func(v *string) any {
		if v == nil {
			return nil
		}
		return *v
	}
	i := func(v *int16) any {
		if v == nil {
			return nil
		}
		return json.Number(strconv.Itoa(int(*v)))
	}
	var b, ts any
	if r.whatsapp != nil {
		b = *r.whatsapp
	}
	if r.checkedAt != nil {
		ts = r.checkedAt.Format("2006-01-02T15:04:05.000Z07:00")
	}
	return []any{r.number, s(r.country), r.status, b, s(r.avatar), s(r.category), s(r.gender),
		i(r.ageMin), i(r.ageMax), s(r.hairColor), s(r.taskID), ts, s(r.note)}
}

func checkArrow(t *testing.T, mem memory.Allocator, path string, schema *arrow.Schema, recs []arrow.RecordBatch) {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
	require.NoError(t, err)
	defer r.Close()

	requireSchemaEqual(t, schema, r.Schema())
	require.Equal(t, len(recs), r.NumRecords(), "one record batch per written batch")
	var got [][]string
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		require.NoError(t, err)
		require.True(t, rec.Schema().Equal(schema))
		got = append(got, logicalRows(rec)...)
	}
	// Values, not encodings: the file has one dictionary per column, so the
	// batches' indices were rewritten against it.
	require.Equal(t, logicalRows(recs...), got)
}

func checkParquet(t *testing.T, mem memory.Allocator, path string, schema *arrow.Schema, recs []arrow.RecordBatch) {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	require.NoError(t, err)
	defer pf.Close()
	require.Equal(t, 1, pf.NumRowGroups(), "small batches share a row group")
	cc, err := pf.MetaData().RowGroup(0).ColumnChunk(0)
	require.NoError(t, err)
	require.Equal(t, "ZSTD", cc.Compression().String())

	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
	require.NoError(t, err)
	got, err := fr.Schema()
	require.NoError(t, err)
	requireSchemaEqual(t, schema, got)
	tbl, err := fr.ReadTable(context.Background())
	require.NoError(t, err)
	defer tbl.Release()
	requireFieldsEqual(t, schema, tbl.Schema()) // ReadTable drops schema metadata

	tr := array.NewTableReader(tbl, -1)
	defer tr.Release()
	var rows [][]string
	for tr.Next() {
		rows = append(rows, logicalRows(tr.RecordBatch())...)
	}
	require.Equal(t, logicalRows(recs...), rows)
}

// requireSchemaEqual compares fields (names, types, nullability, metadata)
// and the schema metadata.
func requireSchemaEqual(t *testing.T, want, got *arrow.Schema) {
	t.Helper()
	requireFieldsEqual(t, want, got)
	require.Equal(t, want.Metadata().Len(), got.Metadata().Len(), "schema metadata %v", got.Metadata())
	for i, k := range want.Metadata().Keys() {
		j := got.Metadata().FindKey(k)
		require.GreaterOrEqual(t, j, 0, "schema metadata %q", k)
		require.Equal(t, want.Metadata().Values()[i], got.Metadata().Values()[j], "schema metadata %q", k)
	}
}

// requireFieldsEqual compares fields. The Parquet reader adds a
// PARQUET:field_id key to every field's metadata (-1: the writer assigned
// no ids); it is not ours and is ignored.
func requireFieldsEqual(t *testing.T, want, got *arrow.Schema) {
	t.Helper()
	require.Equal(t, want.NumFields(), got.NumFields())
	for i, f := range want.Fields() {
		g := got.Field(i)
		if k := g.Metadata.FindKey("PARQUET:field_id"); k >= 0 {
			keys, vals := g.Metadata.Keys(), g.Metadata.Values()
			g.Metadata = arrow.NewMetadata(append(keys[:k:k], keys[k+1:]...), append(vals[:k:k], vals[k+1:]...))
		}
		require.True(t, f.Equal(g), "field %d: want %s, got %s", i, f, g)
	}
}

func checkXLSX(t *testing.T, _ memory.Allocator, path string, schema *arrow.Schema, _ []arrow.RecordBatch) {
	f, err := excelize.OpenFile(path)
	require.NoError(t, err)
	defer f.Close()
	require.Equal(t, []string{"Sheet1"}, f.GetSheetList())
	got, err := f.GetRows("Sheet1", excelize.Options{RawCellValue: true})
	require.NoError(t, err)

	rows := allRows()
	require.Len(t, got, len(rows)+1)
	require.Equal(t, fieldNames(schema), got[0])
	for i, r := range rows {
		cells := textCells(r)
		row := got[i+1]
		for len(row) < len(cells) {
			row = append(row, "") // GetRows drops trailing empty cells
		}
		for j, c := range cells {
			ref, _ := excelize.CoordinatesToCellName(j+1, i+2)
			typ, err := f.GetCellType("Sheet1", ref)
			require.NoError(t, err)
			if c == nil {
				require.Empty(t, row[j], "%s is null", ref)
				require.Equal(t, excelize.CellTypeUnset, typ, "%s is an empty cell", ref)
				continue
			}
			switch schema.Field(j).Type.ID() {
			case arrow.BOOL:
				require.Equal(t, excelize.CellTypeBool, typ, ref)
				want := "0"
				if *c == "true" {
					want = "1"
				}
				require.Equal(t, want, row[j], ref)
			case arrow.INT16:
				require.Equal(t, excelize.CellTypeUnset, typ, "%s: a number cell has no type attribute", ref)
				require.Equal(t, *c, row[j], ref)
			case arrow.TIMESTAMP:
				serial, err := strconv.ParseFloat(row[j], 64)
				require.NoError(t, err, ref)
				// Our own conversion: excelize's ExcelDateToTime rounds to seconds.
				ms := time.Duration(math.Round(serial*86400e3)) * time.Millisecond
				tm := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).Add(ms)
				require.Equal(t, *c, tm.Format("2006-01-02T15:04:05.000Z07:00"), ref)
				// excelize's own formatter shows whole seconds, so check the
				// cell's number format rather than its rendering.
				styleID, err := f.GetCellStyle("Sheet1", ref)
				require.NoError(t, err)
				style, err := f.GetStyle(styleID)
				require.NoError(t, err)
				require.NotNil(t, style.CustomNumFmt, ref)
				require.Equal(t, "yyyy-mm-dd hh:mm:ss.000", *style.CustomNumFmt, ref)
			default:
				require.Equal(t, excelize.CellTypeInlineString, typ, ref)
				require.Equal(t, *c, row[j], ref)
			}
		}
	}
}

func fieldNames(s *arrow.Schema) []string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return names
}

// TestArrowNoDictionaries covers the straight-through IPC path, where the
// written batches must come back bit for bit.
func TestArrowNoDictionaries(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "number", Type: arrow.BinaryTypes.String},
		{Name: "age_min", Type: arrow.PrimitiveTypes.Int16, Nullable: true, Metadata: inferred},
		{Name: "checked_at", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	var recs []arrow.RecordBatch
	for i := range 2 {
		b.Field(0).(*array.StringBuilder).AppendValues([]string{"+1", "+2"}, nil)
		b.Field(1).(*array.Int16Builder).AppendValues([]int16{int16(i), 0}, []bool{true, false})
		b.Field(2).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1, 2}, []bool{false, true})
		recs = append(recs, b.NewRecordBatch())
	}
	defer release(recs)

	path := filepath.Join(t.TempDir(), "x.feather")
	writeFile(t, mem, path, schema, recs)

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
	require.NoError(t, err)
	defer r.Close()
	require.True(t, schema.Equal(r.Schema()))
	require.Equal(t, 2, r.NumRecords())
	for i, want := range recs {
		got, err := r.RecordBatch(i)
		require.NoError(t, err)
		require.True(t, array.RecordEqual(want, got), "batch %d", i)
	}
}

// TestParquetSameDictionaries: when every batch shares one dictionary the
// table read back is equal to the input, encodings included.
func TestParquetSameDictionaries(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := profileSchema()
	rec := buildBatch(t, mem, schema, batches[0])
	defer rec.Release()

	path := filepath.Join(t.TempDir(), "x.parquet")
	writeFile(t, mem, path, schema, []arrow.RecordBatch{rec})
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(data), nil, pqarrow.ArrowReadProperties{}, mem)
	require.NoError(t, err)
	defer tbl.Release()
	want := array.NewTableFromRecords(schema, []arrow.RecordBatch{rec})
	defer want.Release()
	// array.TableEqual, but for the field ids the Parquet reader adds.
	requireFieldsEqual(t, want.Schema(), tbl.Schema())
	require.Equal(t, want.NumRows(), tbl.NumRows())
	for i := 0; i < int(want.NumCols()); i++ {
		require.True(t, array.ChunkedEqual(want.Column(i).Data(), tbl.Column(i).Data()), "column %d", i)
	}
}

// TestEmpty: closing without a batch still gives a valid file with the
// schema (or header) and no rows.
func TestEmpty(t *testing.T) {
	for _, ext := range []string{".csv", ".jsonl", ".arrow", ".parquet", ".xlsx"} {
		t.Run(ext, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			schema := profileSchema()
			path := filepath.Join(t.TempDir(), "empty"+ext)
			writeFile(t, mem, path, schema, nil)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			switch ext {
			case ".csv":
				require.Equal(t, strings.Join(fieldNames(schema), ",")+"\n", string(data))
			case ".jsonl":
				require.Empty(t, data)
			case ".arrow":
				r, err := ipc.NewFileReader(bytes.NewReader(data), ipc.WithAllocator(mem))
				require.NoError(t, err)
				defer r.Close()
				requireSchemaEqual(t, schema, r.Schema())
				require.Zero(t, r.NumRecords())
			case ".parquet":
				tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(data), nil, pqarrow.ArrowReadProperties{}, mem)
				require.NoError(t, err)
				defer tbl.Release()
				requireFieldsEqual(t, schema, tbl.Schema())
				require.Zero(t, tbl.NumRows())
			case ".xlsx":
				f, err := excelize.OpenReader(bytes.NewReader(data))
				require.NoError(t, err)
				defer f.Close()
				rows, err := f.GetRows("Sheet1")
				require.NoError(t, err)
				require.Equal(t, [][]string{fieldNames(schema)}, rows)
			}
		})
	}
}

// TestTextFormatsTypes covers the types the profile schema does not use.
func TestTextFormatsTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "u64", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "large", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "ldict", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Uint8, ValueType: arrow.BinaryTypes.LargeString}, Nullable: true},
		{Name: "ts_s", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}, Nullable: true},
		{Name: "ts_us_naive", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	}, nil)
	// arrow-go has no builder for dictionary<large_utf8>: build the others,
	// then assemble that column by hand.
	plain := arrow.NewSchema(append(append([]arrow.Field{}, schema.Fields()[:6]...), schema.Fields()[7:]...), nil)
	b := array.NewRecordBuilder(mem, plain)
	defer b.Release()
	b.Field(0).(*array.Int8Builder).AppendValues([]int8{-128, 0}, []bool{true, false})
	b.Field(1).(*array.Int64Builder).AppendValues([]int64{math.MinInt64, math.MaxInt64}, nil)
	b.Field(2).(*array.Uint64Builder).AppendValues([]uint64{math.MaxUint64, 0}, nil)
	b.Field(3).(*array.Float32Builder).AppendValues([]float32{0.1, -2.5}, nil)
	b.Field(4).(*array.Float64Builder).AppendValues([]float64{1e-7, 1e21}, nil)
	b.Field(5).(*array.LargeStringBuilder).AppendValues([]string{"big", ""}, []bool{true, true})
	b.Field(6).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{0, 1729364023}, nil)
	b.Field(7).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1729364023141592, -1}, nil)
	part := b.NewRecordBatch()
	defer part.Release()
	ib := array.NewUint8Builder(mem)
	defer ib.Release()
	ib.AppendValues([]uint8{1, 0}, []bool{true, false})
	idx := ib.NewArray()
	defer idx.Release()
	vb := array.NewLargeStringBuilder(mem)
	defer vb.Release()
	vb.AppendValues([]string{"unused", "x"}, nil)
	vals := vb.NewArray()
	defer vals.Release()
	ldict := array.NewDictionaryArray(schema.Field(6).Type, idx, vals)
	defer ldict.Release()
	cols := append(append(append([]arrow.Array{}, part.Columns()[:6]...), ldict), part.Columns()[6:]...)
	rec := array.NewRecordBatch(schema, cols, 2)
	defer rec.Release()

	var out bytes.Buffer
	w, err := sink.New(&out, sink.JSONL, schema, sink.WithAllocator(mem))
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	require.Equal(t,
		`{"i8":-128,"i64":-9223372036854775808,"u64":18446744073709551615,"f32":0.1,"f64":1e-7,"large":"big","ldict":"x","ts_s":"1970-01-01T00:00:00Z","ts_us_naive":"2024-10-19T18:53:43.141592"}`+"\n"+
			`{"i8":null,"i64":9223372036854775807,"u64":0,"f32":-2.5,"f64":1e+21,"large":"","ldict":null,"ts_s":"2024-10-19T18:53:43Z","ts_us_naive":"1969-12-31T23:59:59.999999"}`+"\n",
		out.String())

	out.Reset()
	w, err = sink.New(&out, sink.CSV, schema, sink.WithHeader(false))
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	require.Equal(t,
		"-128,-9223372036854775808,18446744073709551615,0.1,1e-07,big,x,1970-01-01T00:00:00Z,2024-10-19T18:53:43.141592\n"+
			",9223372036854775807,0,-2.5,1e+21,,,2024-10-19T18:53:43Z,1969-12-31T23:59:59.999999\n",
		out.String())

	for _, format := range []sink.Format{sink.Arrow, sink.Parquet, sink.XLSX} {
		out.Reset()
		w, err = sink.New(&out, format, schema, sink.WithAllocator(mem))
		require.NoError(t, err, format)
		require.NoError(t, w.Write(rec), format)
		require.NoError(t, w.Close(), format)
		require.NotZero(t, out.Len(), format)
	}

	// Arrow and Parquet: same schema and values back.
	for _, format := range []sink.Format{sink.Arrow, sink.Parquet} {
		out.Reset()
		w, err = sink.New(&out, format, schema, sink.WithAllocator(mem))
		require.NoError(t, err, format)
		require.NoError(t, w.Write(rec), format)
		require.NoError(t, w.Close(), format)
		var tbl arrow.Table
		if format == sink.Arrow {
			r, err := ipc.NewFileReader(bytes.NewReader(out.Bytes()), ipc.WithAllocator(mem))
			require.NoError(t, err)
			got, err := r.RecordBatch(0)
			require.NoError(t, err)
			tbl = array.NewTableFromRecords(r.Schema(), []arrow.RecordBatch{got})
			require.NoError(t, r.Close())
		} else {
			tbl, err = pqarrow.ReadTable(context.Background(), bytes.NewReader(out.Bytes()), nil, pqarrow.ArrowReadProperties{}, mem)
			require.NoError(t, err)
		}
		wantRec := rec
		if format == sink.Parquet {
			// Two documented Parquet deviations: it has no second-unit
			// timestamps (stored as ms), and pqarrow (v18.8) reads
			// dictionary<large_utf8> back with utf8 values.
			fields := append([]arrow.Field{}, schema.Fields()...)
			fields[7].Type = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
			tb := array.NewTimestampBuilder(mem, fields[7].Type.(*arrow.TimestampType))
			tb.AppendValues([]arrow.Timestamp{0, 1729364023000}, nil)
			ms := tb.NewArray()
			tb.Release()
			cols := append([]arrow.Array{}, rec.Columns()...)
			cols[7] = ms
			wantRec = array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
			ms.Release()
			fields[6].Type = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Uint8, ValueType: arrow.BinaryTypes.String}
			requireFieldsEqual(t, arrow.NewSchema(fields, nil), tbl.Schema())
		} else {
			requireFieldsEqual(t, schema, tbl.Schema())
		}
		tr := array.NewTableReader(tbl, -1)
		require.True(t, tr.Next())
		require.Equal(t, logicalRows(wantRec), logicalRows(tr.RecordBatch()), format)
		tr.Release()
		tbl.Release()
		if wantRec != rec {
			wantRec.Release()
		}
	}
}

// TestSlicedBatches: batches that are slices of larger ones (non-zero
// offsets) come back with the slice's values.
func TestSlicedBatches(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := profileSchema()
	recs := buildBatches(t, mem, schema)
	defer release(recs)
	slices := []arrow.RecordBatch{recs[0].NewSlice(1, 4), recs[1].NewSlice(1, 2)}
	defer release(slices)
	want := logicalRows(slices...)
	require.Len(t, want, 4)

	dir := t.TempDir()
	arrowPath, pqPath, jsonPath := filepath.Join(dir, "s.arrow"), filepath.Join(dir, "s.parquet"), filepath.Join(dir, "s.jsonl")
	for _, p := range []string{arrowPath, pqPath, jsonPath} {
		writeFile(t, mem, p, schema, slices)
	}

	f, err := os.Open(arrowPath)
	require.NoError(t, err)
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
	require.NoError(t, err)
	defer r.Close()
	var got [][]string
	for i := 0; i < r.NumRecords(); i++ {
		rec, err := r.RecordBatch(i)
		require.NoError(t, err)
		got = append(got, logicalRows(rec)...)
	}
	require.Equal(t, want, got, "arrow")

	data, err := os.ReadFile(pqPath)
	require.NoError(t, err)
	tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(data), nil, pqarrow.ArrowReadProperties{}, mem)
	require.NoError(t, err)
	defer tbl.Release()
	tr := array.NewTableReader(tbl, -1)
	defer tr.Release()
	got = nil
	for tr.Next() {
		got = append(got, logicalRows(tr.RecordBatch())...)
	}
	require.Equal(t, want, got, "parquet")

	data, err = os.ReadFile(jsonPath)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	rows := allRows()
	wantRows := []profile{rows[1], rows[2], rows[3], rows[5]}
	require.Len(t, lines, len(wantRows))
	for i, line := range lines {
		_, vals := decodeObject(t, []byte(line))
		require.Equal(t, jsonValues(wantRows[i]), vals, "jsonl line %d", i+1)
	}
}

func TestXLSXRefusesTextXMLCannotHold(t *testing.T) {
	for _, bad := range []string{"a\x01b", "nul\x00", "\uFFFEz", "\xff\xfe"} {
		rec := stringsRecord(memory.DefaultAllocator, "note", []*string{ptr("fine"), &bad})
		_, err := writeAll(t, sink.XLSX, rec)
		rec.Release()
		require.ErrorIs(t, err, sink.ErrNotInXML, "%q", bad)
		require.ErrorContains(t, err, `row 2, column "note" (A)`)
	}
}
