package connector

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/internal/fuzzseed"
	"github.com/wadeep/wadeep/sink"
)

// customers is a small customer table: ids, phone numbers as text (one
// null) and as integers.
func customers(t testing.TB) arrow.RecordBatch {
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
	return b.NewRecordBatch()
}

// writeTable writes the customers table in the given format with the
// project's own sinks and opens it as an Input.
func writeTable(t *testing.T, ext string) Input {
	t.Helper()
	rec := customers(t)
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "customers"+ext)
	w, err := sink.Create(path, rec.Schema())
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	return openFile(t, path)
}

// writeCompressed writes the customers table as an Arrow IPC file with its
// buffers compressed (which wadeep's sinks do not write, other tools do).
func writeCompressed(t *testing.T, name string, codec ipc.Option) Input {
	t.Helper()
	rec := customers(t)
	defer rec.Release()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	require.NoError(t, err)
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(rec.Schema()), codec)
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
	return openFile(t, path)
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

// FuzzReadTable reads arbitrary bytes as the table inputs wadeep check
// takes (.arrow, .parquet, .xlsx), seeded from testdata/inputs and the
// workbooks of testdata/xlsx: an error naming the file in one line, or a
// plan whose rows are all accounted for, and an enrich pass that reads the
// same rows.
func FuzzReadTable(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "testdata/inputs/*.arrow", "testdata/inputs/*.parquet", "testdata/inputs/*.xlsx", "../testdata/xlsx/*.xlsx") {
		f.Add(s.Data, s.Ext())
	}
	f.Fuzz(func(t *testing.T, data []byte, ext string) {
		if ext != ".arrow" && ext != ".parquet" && ext != ".xlsx" {
			return
		}
		name := "f" + ext
		open := func() Input { return Input{Name: name, RA: bytesReaderAt(data), Size: int64(len(data))} }
		plan, err := NewPlan([]Input{open()}, PlanOptions{Region: "CH"})
		if err != nil {
			requireInputError(t, err, name, -1)
			return
		}
		requirePlanAccounts(t, plan, name, -1)
		requireSameRows(t, open)
	})
}

// TestInputSeeds keeps the generated seeds of FuzzReadTable what they say
// they are: the customers tables under testdata/inputs plan like the
// tables written now (-update writes them again).
func TestInputSeeds(t *testing.T) {
	for name, write := range map[string]func(t *testing.T) Input{
		"customers.arrow":      func(t *testing.T) Input { return writeTable(t, ".arrow") },
		"customers.parquet":    func(t *testing.T) Input { return writeTable(t, ".parquet") },
		"customers.xlsx":       func(t *testing.T) Input { return writeTable(t, ".xlsx") },
		"customers_lz4.arrow":  func(t *testing.T) Input { return writeCompressed(t, "customers_lz4.arrow", ipc.WithLZ4()) },
		"customers_zstd.arrow": func(t *testing.T) Input { return writeCompressed(t, "customers_zstd.arrow", ipc.WithZstd()) },
	} {
		t.Run(name, func(t *testing.T) {
			in := write(t)
			path := filepath.Join("testdata", "inputs", name)
			if *update {
				b := make([]byte, in.Size)
				_, err := in.RA.ReadAt(b, 0)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(path, b, 0o644))
			}
			want, err := NewPlan([]Input{in}, PlanOptions{Region: "CH"})
			require.NoError(t, err)
			require.Len(t, want.Numbers, 2)
			b, err := os.ReadFile(path)
			require.NoError(t, err, "go test ./connector -run TestInputSeeds -update writes it")
			got, err := NewPlan([]Input{{Name: in.Name, RA: bytesReaderAt(b), Size: int64(len(b))}}, PlanOptions{Region: "CH"})
			require.NoError(t, err)
			require.Equal(t, want.Numbers, got.Numbers)
			require.Equal(t, want.Rejects, got.Rejects)
			require.Equal(t, want.Inputs, got.Inputs)
		})
	}
}

// update rewrites generated test files.
var update = flag.Bool("update", false, "rewrite the generated seed files under testdata")

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
