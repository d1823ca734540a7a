package connector

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/sink"
)

// writeTable writes a small customer table in the given format with the
// project's own sinks and opens it as an Input.
func writeTable(t *testing.T, ext string) Input {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "Mobile Number", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "msisdn_int", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	phones := []string{"+41798284651", "079 828 46 51", "", "nonsense", "+33612345678"}
	for i, p := range phones {
		b.Field(0).(*array.Int64Builder).Append(int64(i + 1))
		if p == "" {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(p)
		}
		b.Field(2).(*array.Int64Builder).Append(41798284651 + int64(i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "customers"+ext)
	w, err := sink.Create(path, schema)
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	require.NoError(t, err)
	return Input{Name: filepath.Base(path), R: f, RA: f, Size: st.Size()}
}

func TestReadTables(t *testing.T) {
	for _, tc := range []struct {
		ext      string
		firstRow int // the row number of the first data row
	}{{".arrow", 1}, {".parquet", 1}, {".xlsx", 2}} {
		t.Run(tc.ext, func(t *testing.T) {
			in := writeTable(t, tc.ext)
			plan, err := NewPlan([]Input{in}, PlanOptions{Region: "CH"})
			require.NoError(t, err)
			require.Equal(t, []string{"+41798284651", "+33612345678"}, plan.Numbers.Strings())
			r := tc.firstRow
			require.Equal(t, []Reject{
				{File: in.Name, Row: r + 1, Value: "079 828 46 51", Reason: ReasonDuplicate, DuplicateOf: RowRef{File: in.Name, Row: r}},
				{File: in.Name, Row: r + 2, Value: "", Reason: ReasonEmpty, Detail: "the value is empty"},
				{File: in.Name, Row: r + 3, Value: "nonsense", Reason: ReasonNotNumber, Detail: "not a phone number"},
			}, plan.Rejects)
			require.Equal(t, 5, plan.Rows)

			// An integer column: numbers stored without their "+".
			in = writeTable(t, tc.ext)
			in.Column = "msisdn_int"
			plan, err = NewPlan([]Input{in}, PlanOptions{Region: "CH"})
			require.NoError(t, err)
			require.Len(t, plan.Numbers, 5)
			require.Equal(t, "+41798284651", plan.Numbers[0].String())
		})
	}
}

func TestReadTableErrors(t *testing.T) {
	in := writeTable(t, ".parquet")
	in.Column = "id_missing"
	_, err := NewPlan([]Input{in}, PlanOptions{})
	require.ErrorContains(t, err, `customers.parquet: no column "id_missing" (columns: id, Mobile Number, msisdn_int)`)

	bad := filepath.Join(t.TempDir(), "bad.parquet")
	require.NoError(t, os.WriteFile(bad, []byte("PAR1 not really"), 0o600))
	f, err := os.Open(bad)
	require.NoError(t, err)
	defer f.Close()
	_, err = NewPlan([]Input{{Name: "bad.parquet", R: f, RA: f, Size: 15}}, PlanOptions{})
	require.ErrorContains(t, err, "bad.parquet: not a Parquet file")

	_, err = NewPlan([]Input{{Name: "-", Format: "xlsx"}}, PlanOptions{})
	require.ErrorContains(t, err, "give a file, not stdin")
}

// Tables come from users: whatever the bytes, reading them returns an error
// or a plan whose counts reconcile, never a panic.
func FuzzReadTable(f *testing.F) {
	for _, ext := range []string{".arrow", ".parquet", ".xlsx"} {
		in := writeTable(&testing.T{}, ext)
		b := make([]byte, in.Size)
		if _, err := in.RA.ReadAt(b, 0); err != nil {
			f.Fatal(err)
		}
		f.Add(b, ext)
	}
	f.Fuzz(func(t *testing.T, data []byte, ext string) {
		if ext != ".arrow" && ext != ".parquet" && ext != ".xlsx" {
			return
		}
		r := bytesReaderAt(data)
		plan, err := NewPlan([]Input{{Name: "f" + ext, RA: r, Size: int64(len(data))}}, PlanOptions{Region: "CH"})
		if err != nil {
			return
		}
		require.Equal(t, plan.Rows, len(plan.Numbers)+len(plan.Rejects)+plan.Blank)
	})
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func TestReadRecords(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "customer", Type: arrow.BinaryTypes.String}, {Name: "phone", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	var recs []arrow.RecordBatch
	for _, batch := range [][]string{{"+41798284651", "079 828 46 51"}, {"", "+33612345678"}} {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for i, p := range batch {
			b.Field(0).(*array.StringBuilder).Append("c" + string(rune('a'+i)))
			if p == "" {
				b.Field(1).AppendNull()
			} else {
				b.Field(1).(*array.StringBuilder).Append(p)
			}
		}
		recs = append(recs, b.NewRecordBatch())
		b.Release()
	}
	rr, err := array.NewRecordReader(schema, recs)
	require.NoError(t, err)
	defer rr.Release()
	for _, r := range recs {
		r.Release() // the reader holds its own references
	}
	plan, err := NewPlan([]Input{{Name: "pipeline", Records: rr}}, PlanOptions{Region: "CH"})
	require.NoError(t, err)
	require.Equal(t, []string{"+41798284651", "+33612345678"}, plan.Numbers.Strings())
	require.Equal(t, []Reject{
		{File: "pipeline", Row: 2, Value: "079 828 46 51", Reason: ReasonDuplicate, DuplicateOf: RowRef{File: "pipeline", Row: 1}},
		{File: "pipeline", Row: 3, Value: "", Reason: ReasonEmpty, Detail: "the value is empty"},
	}, plan.Rejects)
}
