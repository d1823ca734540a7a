package connector

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/emulator"
	"github.com/wadeep/wadeep/sink"
)

// crmCSV has valid numbers (one in national format under CH), a duplicate
// written differently, an invalid value, a blank record, a row without a
// number and an empty cell.
const crmCSV = "Name;Mobile;Email\n" +
	"Anna;079 828 46 51;anna@example.ch\n" + // row 2
	"Ben;+33612345678;ben@example.fr\n" + // row 3
	"Cleo;+41 79 828 46 51;cleo@example.ch\n" + // row 4: duplicate of row 2
	"Dan;not a phone;dan@example.com\n" + // row 5: invalid
	";;\n" + // row 6: blank
	"Eve;+4915123456789;\n" + // row 7: no email
	"Finn;;finn@example.com\n" // row 8: empty

// indexOf runs plan through the sandbox and returns its profiles, indexed.
func indexOf(t *testing.T, plan *Plan, mem memory.Allocator) *ProfileIndex {
	t.Helper()
	clock := newVirtualClock()
	sb := newSandbox(t, emulator.WithClock(clock))
	client := sb.client(t)
	j, err := OpenJournal(t.TempDir(), plan, client)
	require.NoError(t, err)
	t.Cleanup(func() { j.Close() })
	idx, err := NewProfileIndex(arrowconv.Schema(), mem)
	require.NoError(t, err)
	job := &Job{Client: client, Plan: plan, Journal: j, Out: idx.Add, Clock: clock}
	_, err = job.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, len(plan.Numbers), idx.Len())
	return idx
}

// enriched runs Enrich and returns its schema and rows, a null as nil and
// any other value as its text.
func enriched(t *testing.T, plan *Plan, inputs []Input, idx *ProfileIndex, batchRows int) (*arrow.Schema, []map[string]any) {
	t.Helper()
	schema, err := EnrichedSchema(plan, idx.Schema())
	require.NoError(t, err)
	var rows []map[string]any
	err = enrich(context.Background(), plan, inputs, idx, func(rec arrow.RecordBatch) error {
		require.True(t, rec.Schema().Equal(schema), "batch schema %s, want %s", rec.Schema(), schema)
		require.LessOrEqual(t, int(rec.NumRows()), batchRows)
		for i := 0; i < int(rec.NumRows()); i++ {
			r := map[string]any{}
			for c, f := range schema.Fields() {
				col := rec.Column(c)
				if col.IsNull(i) {
					r[f.Name] = nil
				} else {
					r[f.Name] = col.ValueStr(i)
				}
			}
			rows = append(rows, r)
		}
		return nil
	}, batchRows)
	require.NoError(t, err)
	return schema, rows
}

// requireProfile checks a row's profile columns against the sandbox's.
func requireProfile(t *testing.T, number string, r map[string]any) {
	t.Helper()
	want := wantRow(t, number)
	text := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	require.Equal(t, number, r["number"])
	require.Equal(t, want.Country, r["country"])
	require.Equal(t, want.Status, r["status"])
	require.Equal(t, text(want.Avatar), r["avatar"], number)
	require.Equal(t, text(want.Category), r["category"], number)
	require.Equal(t, text(want.Gender), r["gender"], number)
	require.Equal(t, text(want.Hair), r["hair_color"], number)
	if want.WhatsApp == nil {
		require.Nil(t, r["whatsapp"])
	} else {
		require.Equal(t, map[bool]any{true: "true", false: "false"}[*want.WhatsApp], r["whatsapp"])
	}
	require.NotNil(t, r["task_id"])
	require.NotNil(t, r["checked_at"])
}

func requireNoProfile(t *testing.T, r map[string]any) {
	t.Helper()
	for _, f := range arrowconv.Schema().Fields() {
		require.Nil(t, r[f.Name], f.Name)
	}
}

func csvInput(name, text string) Input { return Input{Name: name, R: strings.NewReader(text)} }

func TestEnrichCSV(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	plan, err := NewPlan([]Input{csvInput("crm.csv", crmCSV)}, PlanOptions{Region: "CH"})
	require.NoError(t, err)
	require.Equal(t, []Source{{Name: "crm.csv", Fields: []arrow.Field{
		{Name: "Name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "Mobile", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "Email", Type: arrow.BinaryTypes.String, Nullable: true},
	}, Column: 1, Header: true, Rows: 7}}, plan.Inputs)
	idx := indexOf(t, plan, mem)
	defer idx.Release()

	for _, batch := range []int{EnrichBatchRows, 3, 1} {
		schema, rows := enriched(t, plan, []Input{csvInput("crm.csv", crmCSV)}, idx, batch)
		var names []string
		for _, f := range schema.Fields() {
			names = append(names, f.Name)
		}
		require.Equal(t, []string{"Name", "Mobile", "Email", "input_file", "input_row",
			"number", "country", "status", "whatsapp", "avatar", "category", "gender", "age_min", "age_max", "hair_color", "task_id", "checked_at",
			"reject_reason"}, names)
		require.Len(t, rows, plan.Rows)

		type own struct{ name, mobile, email, row, reason any }
		var got []own
		for _, r := range rows {
			require.Equal(t, "crm.csv", r["input_file"])
			got = append(got, own{r["Name"], r["Mobile"], r["Email"], r["input_row"], r["reject_reason"]})
		}
		require.Equal(t, []own{
			{"Anna", "079 828 46 51", "anna@example.ch", "2", nil},
			{"Ben", "+33612345678", "ben@example.fr", "3", nil},
			{"Cleo", "+41 79 828 46 51", "cleo@example.ch", "4", nil},
			{"Dan", "not a phone", "dan@example.com", "5", "not a number"},
			{nil, nil, nil, "6", "blank"},
			{"Eve", "+4915123456789", nil, "7", nil},
			{"Finn", nil, "finn@example.com", "8", "empty"},
		}, got)

		requireProfile(t, "+41798284651", rows[0])
		requireProfile(t, "+33612345678", rows[1])
		requireProfile(t, "+4915123456789", rows[5])
		// The duplicate carries the profile of its first row.
		for k, v := range rows[0] {
			if k != "Name" && k != "Mobile" && k != "Email" && k != "input_row" {
				require.Equal(t, v, rows[2][k], k)
			}
		}
		for _, i := range []int{3, 4, 6} {
			requireNoProfile(t, rows[i])
		}
	}
}

// writeTyped writes a table with typed columns, one named like a profile
// column and one like an added column, in the format of ext.
func writeTyped(t *testing.T, dir, ext string) string {
	t.Helper()
	ts := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "seen", Type: ts, Nullable: true},
		{Name: "phone", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "status", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "input_status", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	start := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	for i, p := range []string{"+41798284651", "0612345678", "", "+41798284651"} {
		b.Field(0).(*array.Int64Builder).Append(int64(100 + i))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(start.Add(time.Duration(i) * time.Hour).UnixMilli()))
		if p == "" {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.StringBuilder).Append(p)
		}
		b.Field(3).(*array.StringBuilder).Append("lead")
		b.Field(4).(*array.BooleanBuilder).Append(i%2 == 0)
		b.Field(5).(*array.Float64Builder).Append(float64(i) / 2)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	path := filepath.Join(dir, "typed"+ext)
	w, err := sink.Create(path, schema)
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	return path
}

// openFile opens path as an Input, closed at the test's end.
func openFile(t *testing.T, path string) Input {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	require.NoError(t, err)
	return Input{Name: filepath.Base(path), R: f, RA: f, Size: st.Size()}
}

func TestEnrichTypedTables(t *testing.T) {
	for _, ext := range []string{".arrow", ".parquet", ".xlsx"} {
		t.Run(ext, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			path := writeTyped(t, t.TempDir(), ext)
			plan, err := NewPlan([]Input{openFile(t, path)}, PlanOptions{Region: "FR"})
			require.NoError(t, err)
			require.Equal(t, []string{"+41798284651", "+33612345678"}, plan.Numbers.Strings())
			idx := indexOf(t, plan, mem)
			defer idx.Release()
			schema, rows := enriched(t, plan, []Input{openFile(t, path)}, idx, EnrichBatchRows)

			want := []arrow.DataType{arrow.PrimitiveTypes.Int64, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"},
				arrow.BinaryTypes.String, arrow.BinaryTypes.String, arrow.FixedWidthTypes.Boolean, arrow.PrimitiveTypes.Float64}
			first := 1
			if ext == ".xlsx" {
				// A sheet's cells are read as text: every column is utf8.
				for i := range want {
					want[i] = arrow.BinaryTypes.String
				}
				first = 2
			}
			// status collides with the profile's, and its prefixed name
			// with the input's own input_status: prefixed again.
			names := []string{"id", "seen", "phone", "input_input_status", "input_status", "score"}
			for i, n := range names {
				require.Equal(t, n, schema.Field(i).Name)
				require.True(t, arrow.TypeEqual(want[i], schema.Field(i).Type), "%s: %s", n, schema.Field(i).Type)
			}
			require.Equal(t, "status", schema.Field(len(names)+4).Name, "the profile's own status follows")
			require.Len(t, rows, 4)
			for i, r := range rows {
				require.Equal(t, "typed"+ext, r["input_file"])
				require.Equal(t, itoa(first+i), r["input_row"])
				require.Equal(t, itoa(100+i), r["id"])
				require.Equal(t, "lead", r["input_input_status"])
			}
			if ext != ".xlsx" {
				require.Equal(t, "2025-03-04T05:06:07Z", rows[0]["seen"])
				require.Equal(t, "true", rows[0]["input_status"])
				require.Equal(t, "0.5", rows[1]["score"])
			}
			requireProfile(t, "+41798284651", rows[0])
			requireProfile(t, "+33612345678", rows[1])
			requireNoProfile(t, rows[2])
			require.Equal(t, "empty", rows[2]["reject_reason"])
			require.Nil(t, rows[3]["reject_reason"], "a duplicate is checked")
			requireProfile(t, "+41798284651", rows[3])
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

func TestEnrichTwoInputs(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	txt := "+33612345678\n\nnot a phone\n"
	csv := "Mobile,Name,value\n+33 6 12 34 56 78,Ben,7\n+4915123456789,Eve,8\n"
	inputs := func() []Input { return []Input{csvInput("a.txt", txt), csvInput("b.csv", csv)} }
	plan, err := NewPlan(inputs(), PlanOptions{})
	require.NoError(t, err)
	idx := indexOf(t, plan, mem)
	defer idx.Release()
	schema, rows := enriched(t, plan, inputs(), idx, 2)
	require.Equal(t, "value", schema.Field(0).Name)
	require.Equal(t, "Mobile", schema.Field(1).Name)
	require.Equal(t, "Name", schema.Field(2).Name)
	require.Equal(t, "input_file", schema.Field(3).Name)
	require.Len(t, rows, 5)
	type own struct{ value, mobile, name, file, row, reason any }
	var got []own
	for _, r := range rows {
		got = append(got, own{r["value"], r["Mobile"], r["Name"], r["input_file"], r["input_row"], r["reject_reason"]})
	}
	require.Equal(t, []own{
		{"+33612345678", nil, nil, "a.txt", "1", nil},
		{nil, nil, nil, "a.txt", "2", "blank"},
		{"not a phone", nil, nil, "a.txt", "3", "not a number"},
		{"7", "+33 6 12 34 56 78", "Ben", "b.csv", "2", nil},
		{"8", "+4915123456789", "Eve", "b.csv", "3", nil},
	}, got)
	requireProfile(t, "+33612345678", rows[0])
	requireProfile(t, "+33612345678", rows[3])
	requireProfile(t, "+4915123456789", rows[4])
}

func TestEnrichTypeClash(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	table := func(idType arrow.DataType, id func(b array.Builder), phone string) array.RecordReader {
		schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: idType}, {Name: "phone", Type: arrow.BinaryTypes.String}}, nil)
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer b.Release()
		id(b.Field(0))
		b.Field(1).(*array.StringBuilder).Append(phone)
		rec := b.NewRecordBatch()
		defer rec.Release()
		rr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
		require.NoError(t, err)
		return rr
	}
	inputs := func() []Input {
		a := table(arrow.PrimitiveTypes.Int64, func(b array.Builder) { b.(*array.Int64Builder).Append(42) }, "+33612345678")
		c := table(arrow.BinaryTypes.String, func(b array.Builder) { b.(*array.StringBuilder).Append("C-7") }, "+4915123456789")
		t.Cleanup(func() { a.Release(); c.Release() })
		return []Input{{Name: "a", Records: a}, {Name: "c", Records: c}}
	}
	plan, err := NewPlan(inputs(), PlanOptions{})
	require.NoError(t, err)
	idx := indexOf(t, plan, mem)
	defer idx.Release()
	schema, rows := enriched(t, plan, inputs(), idx, EnrichBatchRows)
	require.True(t, arrow.TypeEqual(arrow.BinaryTypes.String, schema.Field(0).Type), "id is int64 in one input and utf8 in the other")
	require.Equal(t, "42", rows[0]["id"])
	require.Equal(t, "C-7", rows[1]["id"])
	requireProfile(t, "+33612345678", rows[0])
	requireProfile(t, "+4915123456789", rows[1])
}

func TestEnrichShard(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := makeInput(t, 120)
	all, err := NewPlan([]Input{csvInput("n.txt", in.text)}, PlanOptions{Region: "CH"})
	require.NoError(t, err)
	idx := indexOf(t, all, mem)
	defer idx.Release()
	seen := map[string]bool{}
	for k := 1; k <= 3; k++ {
		plan, err := NewPlan([]Input{csvInput("n.txt", in.text)}, PlanOptions{Region: "CH", Shard: Shard{K: k, N: 3}})
		require.NoError(t, err)
		_, rows := enriched(t, plan, []Input{csvInput("n.txt", in.text)}, idx, 7)
		require.Len(t, rows, plan.Rows)
		last := 0
		for _, r := range rows {
			row := r["input_row"].(string)
			require.False(t, seen[row], "row %s in two shards", row)
			seen[row] = true
			n := atoi(t, row)
			require.Greater(t, n, last, "input order")
			last = n
		}
	}
	require.Len(t, seen, all.Rows)
}

func TestEnrichInputChanged(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	plan, err := NewPlan([]Input{csvInput("crm.csv", crmCSV)}, PlanOptions{Region: "CH"})
	require.NoError(t, err)
	idx := indexOf(t, plan, mem)
	defer idx.Release()
	for name, text := range map[string]string{
		"row appended":   crmCSV + "Gus;+33612345679;\n",
		"row removed":    strings.TrimSuffix(crmCSV, "Finn;;finn@example.com\n"),
		"value changed":  strings.Replace(crmCSV, "+33612345678", "+33612345679", 1),
		"header changed": strings.Replace(crmCSV, "Email", "Mail", 1),
		"reject fixed":   strings.Replace(crmCSV, "not a phone", "+33612345670", 1),
	} {
		t.Run(name, func(t *testing.T) {
			err := Enrich(context.Background(), plan, []Input{csvInput("crm.csv", text)}, idx, func(arrow.RecordBatch) error { return nil })
			require.ErrorIs(t, err, ErrInputChanged)
			require.Contains(t, err.Error(), "crm.csv")
		})
	}
	err = Enrich(context.Background(), plan, nil, idx, func(arrow.RecordBatch) error { return nil })
	require.ErrorContains(t, err, "0 inputs given, the plan read 1")
}

func TestEnrichMissingProfile(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	plan, err := NewPlan([]Input{csvInput("crm.csv", crmCSV)}, PlanOptions{Region: "CH"})
	require.NoError(t, err)
	idx, err := NewProfileIndex(arrowconv.Schema(), mem)
	require.NoError(t, err)
	defer idx.Release()
	err = Enrich(context.Background(), plan, []Input{csvInput("crm.csv", crmCSV)}, idx, func(arrow.RecordBatch) error { return nil })
	require.ErrorContains(t, err, "no profile for +41798284651")
}

func TestEnrichedSchemaNames(t *testing.T) {
	plan := &Plan{Rows: 1, Inputs: []Source{{Name: "x.csv", Fields: []arrow.Field{
		{Name: "number", Type: arrow.BinaryTypes.String},
		{Name: "input_number", Type: arrow.BinaryTypes.String},
		{Name: "input_row", Type: arrow.BinaryTypes.String},
		{Name: "Skin Color", Type: arrow.BinaryTypes.String},
		{Name: "when", Type: arrow.FixedWidthTypes.Date32},
	}}}}
	schema, err := EnrichedSchema(plan, arrowconv.Schema("extra"))
	require.NoError(t, err)
	var names []string
	for _, f := range schema.Fields()[:6] {
		names = append(names, f.Name)
	}
	require.Equal(t, []string{"input_input_number", "input_number", "input_input_row", "when", "input_file", "input_row"}, names)
	require.True(t, arrow.TypeEqual(arrow.BinaryTypes.String, schema.Field(3).Type), "date32 is no sink type: its text")
	require.Equal(t, "extra", schema.Field(schema.NumFields()-2).Name)
	for _, f := range schema.Fields() {
		require.False(t, arrowconv.NeverCarried(f.Name), f.Name)
	}
	// Every sink takes the schema.
	for _, f := range []sink.Format{sink.CSV, sink.JSONL, sink.Arrow, sink.Parquet, sink.XLSX} {
		w, err := sink.New(discard{}, f, schema)
		require.NoError(t, err, f)
		require.NoError(t, w.Close())
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
