package arrowconv

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/internal/xlsx/xlsxtest"
)

// readErr reads data through the whole Reader and returns the error that
// stopped it, which must be a *ParseError; the Reader must not leak.
func readErr(t *testing.T, data []byte, opts ...Option) error {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), append([]Option{WithAllocator(mem)}, opts...)...)
	if err == nil {
		for r.Next() {
		}
		err = r.Err()
		r.Release()
	}
	require.Error(t, err)
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	return err
}

// TestOptionsReachTheWorkbook checks that each limit option bounds what it
// names, and that the workbook's errors come out as this package's: a
// *ParseError, a *LimitError matching ErrLimit, ErrMalformed, ErrNoSheet.
// internal/xlsx tests the limits themselves.
func TestOptionsReachTheWorkbook(t *testing.T) {
	zip := func(sheet, sst string) []byte { return xlsxtest.Zip(t, xlsxtest.MinimalParts(sheet, sst)) }
	long := strings.Repeat("x", 300)
	for _, tt := range []struct {
		data []byte
		opt  Option
		name string
	}{
		{zip(xlsxtest.ResultSheet(3, ""), ""), WithMaxUncompressed(1000), "WithMaxUncompressed"},
		{zip(xlsxtest.ResultSheet(3, strings.Repeat(" ", 32<<20)), ""), WithMaxCompressionRatio(1000), "WithMaxCompressionRatio"},
		{zip(xlsxtest.ResultSheet(10, ""), ""), WithMaxRows(5), "WithMaxRows"},
		{zip(xlsxtest.ResultSheet(1, ""), ""), WithMaxColumns(4), "WithMaxColumns"},
		{zip(xlsxtest.ResultSheet(1, `<row r="9">`+xlsxtest.Inline("A9", long)+`</row>`), ""), WithMaxCellBytes(100), "WithMaxCellBytes"},
		{zip(xlsxtest.ResultSheet(1, `<row r="9">`+xlsxtest.Inline("A9", long)+xlsxtest.Inline("B9", long)+`</row>`), ""), WithBatchBytes(500), "WithBatchBytes"},
		{zip(xlsxtest.ResultSheet(1, ""), xlsxtest.SSTXML("a", "b", "c", "d")), WithMaxSharedStrings(3), "WithMaxSharedStrings"},
		{zip(xlsxtest.ResultSheet(1, ""), xlsxtest.SSTXML("aaaa", "bbbb", "cccc")), WithMaxSharedStringBytes(10), "WithMaxSharedStringBytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := readErr(t, tt.data, tt.opt)
			require.ErrorIs(t, err, ErrLimit)
			var le *LimitError
			require.ErrorAs(t, err, &le)
			require.Equal(t, tt.name, le.Option)
			require.ErrorContains(t, err, tt.name)
			if tt.name == "WithMaxCompressionRatio" {
				require.ErrorContains(t, err, "1000:1")
			}
		})
	}
	// Without an option the same files read: the defaults are in force, not
	// the limits above.
	for _, data := range [][]byte{zip(xlsxtest.ResultSheet(10, ""), ""), zip(xlsxtest.ResultSheet(1, ""), xlsxtest.SSTXML("a", "b", "c", "d"))} {
		r, err := NewReader(bytes.NewReader(data), int64(len(data)))
		require.NoError(t, err)
		for r.Next() {
		}
		require.NoError(t, r.Err())
		r.Release()
	}
	require.ErrorIs(t, readErr(t, []byte("Number,whatsapp\n+41798284651,yes\n")), ErrMalformed)
	ps := xlsxtest.MinimalParts(xlsxtest.ResultSheet(1, ""), "")
	ps[2].Body = `<workbook ` + xlsxtest.NSMain + `><sheets/></workbook>`
	require.ErrorIs(t, readErr(t, xlsxtest.Zip(t, ps)), ErrNoSheet)
	require.False(t, errors.Is(ErrMalformed, ErrNoSheet))
}

func TestFileNamedInErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "result.xlsx")
	require.NoError(t, os.WriteFile(path, xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(1, `<row r="5"><c r="A5" t="s"><v>3</v></c></row>`), "")), 0o600))
	r, err := OpenFile(path)
	require.NoError(t, err)
	defer r.Release()
	for r.Next() {
	}
	require.ErrorContains(t, r.Err(), `arrowconv: result.xlsx: sheet "Results": cell A5: malformed workbook`)

	// A file that is no workbook fails in OpenFile, named.
	require.NoError(t, os.WriteFile(path, []byte("not a zip"), 0o600))
	_, err = OpenFile(path)
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "result.xlsx", pe.File)
	require.ErrorIs(t, err, ErrMalformed)
	require.ErrorContains(t, err, "arrowconv: result.xlsx: malformed workbook")
}

// TestReaderOnHandMadeFile reads a hand-made result through the whole
// Reader: prefixes, sparse rows and shared strings reach the batch.
func TestReaderOnHandMadeFile(t *testing.T) {
	sheet := `<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>` +
		strings.ReplaceAll(strings.ReplaceAll(xlsxtest.HeaderRow(1), "<", "<x:"), "<x:/", "</x:") +
		`<x:row r="3"><x:c r="A3" t="s"><x:v>0</x:v></x:c><x:c r="B3" t="b"><x:v>1</x:v></x:c><x:c r="D3"><x:v>25</x:v></x:c><x:c r="G3" t="e"><x:v>#N/A</x:v></x:c></x:row>` +
		`</x:sheetData></x:worksheet>`
	data := xlsxtest.Zip(t, xlsxtest.MinimalParts(sheet, xlsxtest.SSTXML("+41798284651")))
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	defer r.Release()
	require.True(t, r.Next())
	rec := r.RecordBatch()
	require.EqualValues(t, 1, rec.NumRows())
	var buf bytes.Buffer
	require.NoError(t, recordJSON(rec, &buf))
	require.JSONEq(t, `{"number":"+41798284651","country":"CH","status":"checked","whatsapp":true,"avatar":null,"category":null,"gender":null,
		"age_min":25,"age_max":25,"hair_color":null,"task_id":null,"checked_at":null}`, buf.String())
	require.False(t, r.Next())
	require.NoError(t, r.Err())
}
