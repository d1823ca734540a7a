package arrowconv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// writeSheet writes rows to a one-sheet workbook with excelize's cell writer.
func writeSheet(t *testing.T, rows [][]any) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		require.NoError(t, err)
		require.NoError(t, f.SetSheetRow("Sheet1", cell, &r))
	}
	path := filepath.Join(t.TempDir(), "results.xlsx")
	require.NoError(t, f.SaveAs(path))
	return path
}

var upstreamHeader = []any{"Number", "whatsapp", "avatar", "age", "category", "gender", "hair_color", "skin_color"}

func readAllRows(t *testing.T, path string, opts ...Option) (*arrow.Schema, []map[string]any, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r, err := OpenFile(path, append([]Option{WithAllocator(mem), WithBatchRows(2)}, opts...)...)
	if err != nil {
		return nil, nil, err
	}
	defer r.Release()
	var rows []map[string]any
	for r.Next() {
		rec := r.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			m := map[string]any{}
			for c, f := range rec.Schema().Fields() {
				col := rec.Column(c)
				if col.IsNull(i) {
					m[f.Name] = nil
				} else {
					m[f.Name] = col.GetOneForMarshal(i)
				}
			}
			rows = append(rows, m)
		}
	}
	return r.Schema(), rows, r.Err()
}

func TestReaderProfiles(t *testing.T) {
	path := writeSheet(t, [][]any{
		upstreamHeader,
		{"+41798284651", "yes", "https://a/1.jpg", "25-30", "individual portrait", "female", "brown", "dropped value"},
		{41612345678, "no", "", "", "", "", "", ""},
		{},
		{"+33612345678", "yes", "", 40, "pet avatar", "unknown", "", "x"},
		{"+4915123456789", "", "", "", "", "", "", ""},
	})
	at := time.Date(2024, 10, 19, 18, 53, 43, 141_000_000, time.UTC)
	schema, rows, err := readAllRows(t, path, WithTask("cs9viu7i61pkfs4oavvg", at), WithExpected([]string{"+41798284651", "+41612345678", "+33612345678", "+4915123456789", "+12015550123"}))
	require.NoError(t, err)
	require.False(t, schema.HasField("skin_color"), "skin_color is never carried")
	for _, f := range schema.Fields() {
		require.NotContains(t, f.Name, "skin")
	}
	g, _ := schema.FieldsByName(ColGender)
	require.Equal(t, "inferred_from_picture", g[0].Metadata.Values()[g[0].Metadata.FindKey(MetaPersonalData)])

	require.Len(t, rows, 5)
	require.Equal(t, "+41798284651", rows[0][ColNumber])
	require.Equal(t, "CH", rows[0][ColCountry])
	require.Equal(t, "checked", rows[0][ColStatus])
	require.Equal(t, true, rows[0][ColWhatsApp])
	require.Equal(t, int16(25), rows[0][ColAgeMin])
	require.Equal(t, int16(30), rows[0][ColAgeMax])
	require.Equal(t, "female", rows[0][ColGender])
	require.Equal(t, "cs9viu7i61pkfs4oavvg", rows[0][ColTaskID])
	require.Equal(t, "2024-10-19T18:53:43.141Z", rows[0][ColCheckedAt])

	require.Equal(t, "+41612345678", rows[1][ColNumber], "a numeric Number cell gets its + back")
	require.Equal(t, false, rows[1][ColWhatsApp])
	require.Nil(t, rows[1][ColAvatar])
	require.Nil(t, rows[1][ColAgeMin])

	require.Equal(t, int16(40), rows[2][ColAgeMin])
	require.Equal(t, int16(40), rows[2][ColAgeMax])
	require.Nil(t, rows[2][ColGender], "unknown is null")

	require.Equal(t, "failed", rows[3][ColStatus], "an empty whatsapp cell means the upstream failed")
	require.Nil(t, rows[3][ColWhatsApp])

	require.Equal(t, "+12015550123", rows[4][ColNumber], "expected but missing from the file")
	require.Equal(t, "failed", rows[4][ColStatus])
	require.Equal(t, "US", rows[4][ColCountry])
}

func TestReaderErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.xlsx")
	require.NoError(t, os.WriteFile(garbage, []byte("PK\x03\x04 this is no workbook"), 0o600))

	tests := []struct {
		name string
		path string
		want []string
	}{
		{"garbage", garbage, []string{"garbage.xlsx"}},
		{"missing columns", writeSheet(t, [][]any{{"Number", "whatsapp", "avatar", "category"}, {"+41798284651", "yes", "", ""}}),
			[]string{"results.xlsx", `sheet "Sheet1"`, "row 1", "lacks column(s) age, gender, hair_color"}},
		{"bad age", writeSheet(t, [][]any{upstreamHeader, {"+41798284651", "yes", "", "25"}, {"+33612345678", "yes", "", "old"}}),
			[]string{"cell D3", `age "old"`}},
		{"bad whatsapp", writeSheet(t, [][]any{upstreamHeader, {"+41798284651", "perhaps"}}), []string{"cell B2", `whatsapp value "perhaps"`}},
		{"bad number", writeSheet(t, [][]any{upstreamHeader, {"call me", "yes"}}), []string{"cell A2", `number "call me"`}},
		{"empty sheet", writeSheet(t, nil), []string{"no header row"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAllRows(t, tt.path)
			require.Error(t, err)
			var pe *ParseError
			require.True(t, errors.As(err, &pe), "%T %v", err, err)
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestConform(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	path := writeSheet(t, [][]any{append(upstreamHeader[:7:7], "nickname"), {"+41798284651", "yes", "", "", "", "", "", "bob"}})
	r, err := OpenFile(path, WithAllocator(mem))
	require.NoError(t, err)
	defer r.Release()
	require.True(t, r.Next())
	target := Schema("profile_name")
	out, dropped, err := Conform(mem, r.RecordBatch(), target)
	require.NoError(t, err)
	defer out.Release()
	require.True(t, out.Schema().Equal(target))
	require.Equal(t, []string{"nickname"}, dropped)
	require.True(t, out.Column(numFixed).IsNull(0))
	require.True(t, array.Equal(r.RecordBatch().Column(0), out.Column(0)))
}

func TestReaderExpectedIsExact(t *testing.T) {
	path := writeSheet(t, [][]any{
		upstreamHeader,
		{"+41798284651", "yes"},
		{"+41798284651", "no"},  // repeated: the first row wins
		{"+33612345678", "yes"}, // never uploaded
		{"+4915123456789", "no"},
	})
	r, err := OpenFile(path, WithExpected([]string{"+41798284651", "+4915123456789", "+12015550123"}))
	require.NoError(t, err)
	defer r.Release()
	var numbers []string
	var whatsapp []any
	for r.Next() {
		rec := r.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			numbers = append(numbers, rec.Column(0).ValueStr(i))
			whatsapp = append(whatsapp, rec.Column(3).GetOneForMarshal(i))
		}
	}
	require.NoError(t, r.Err())
	require.Equal(t, []string{"+41798284651", "+4915123456789", "+12015550123"}, numbers)
	require.Equal(t, []any{true, false, nil}, whatsapp)
	require.Equal(t, 2, r.Dropped())
}

func TestDictionariesDoNotGrowAcrossBatches(t *testing.T) {
	rows := [][]any{upstreamHeader}
	for i := 0; i < 40; i++ {
		rows = append(rows, []any{fmt.Sprintf("+4179%07d", 1000000+i), "yes", "", "", fmt.Sprintf("category %d", i)})
	}
	path := writeSheet(t, rows)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r, err := OpenFile(path, WithAllocator(mem), WithBatchRows(10))
	require.NoError(t, err)
	defer r.Release()
	batches := 0
	for r.Next() {
		batches++
		dict := r.RecordBatch().Column(idxCategory).(*array.Dictionary).Dictionary()
		require.Equal(t, 10, dict.Len(), "batch %d holds only its own values", batches)
	}
	require.NoError(t, r.Err())
	require.Equal(t, 4, batches)
}

func TestSharedStringsCountAgainstRowLimit(t *testing.T) {
	long := strings.Repeat("x", 300)
	// excelize's cell writer stores text as shared strings.
	path := writeSheet(t, [][]any{append(upstreamHeader[:7:7], "a", "b", "c", "d"),
		{"+41798284651", "yes", "", "", "", "", "", long, long, long, long}})
	_, _, err := readAllRows(t, path, WithBatchBytes(1000))
	var le *LimitError
	require.ErrorAs(t, err, &le)
	require.Equal(t, "WithBatchBytes", le.Option)
	_, _, err = readAllRows(t, path, WithBatchBytes(2000))
	require.NoError(t, err)
}
