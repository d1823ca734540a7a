package arrowconv

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/wadeep/wadeep/internal/fuzzseed"
	"github.com/wadeep/wadeep/internal/xlsx/xlsxtest"
)

// fuzzLimits keep one input's work small.
var fuzzLimits = []Option{
	WithMaxUncompressed(16 << 20), WithMaxRows(5000), WithMaxColumns(200),
	WithMaxCellBytes(4096), WithMaxSharedStrings(5000), WithMaxSharedStringBytes(1 << 20),
	WithBatchRows(50), WithMissingColumns(),
}

// profileRows reads a whole file as the connector reads a result (named,
// and under WithExpected when expected is set): nil rows and a *ParseError
// in one line that names the file, or well-formed batches, whose numbers it
// returns in order.
func profileRows(t *testing.T, data []byte, expected []string) ([]string, *Reader) {
	t.Helper()
	opts := append([]Option{WithName("result.xlsx")}, fuzzLimits...)
	if expected != nil {
		opts = append(opts, WithExpected(expected))
	}
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), opts...)
	var numbers []string
	if err == nil {
		for _, f := range r.Schema().Fields() {
			if NeverCarried(f.Name) {
				t.Fatalf("column %q is never carried", f.Name)
			}
		}
		for r.Next() {
			rec := r.RecordBatch()
			if !rec.Schema().Equal(r.Schema()) {
				t.Fatalf("batch schema %s, reader's %s", rec.Schema(), r.Schema())
			}
			if err := array.ValidateRecordFull(rec); err != nil {
				t.Fatalf("invalid batch: %v", err)
			}
			numbers = append(numbers, checkProfiles(t, rec)...)
		}
		err = r.Err()
		r.Release()
	}
	if err == nil {
		return numbers, r
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\r\n") || !strings.Contains(msg, "result.xlsx") || len(msg) > 1024 {
		t.Fatalf("not one short line naming the file: %.300q", msg)
	}
	return nil, nil
}

// checkProfiles checks the rows of one batch are profiles and returns
// their numbers: a number on every row, a status checked or failed, a
// failed row with no whatsapp, ages in order.
func checkProfiles(t *testing.T, rec arrow.RecordBatch) []string {
	t.Helper()
	col := func(name string) arrow.Array { return rec.Column(rec.Schema().FieldIndices(name)[0]) }
	number, status, whatsapp := col(ColNumber), col(ColStatus).(*array.Dictionary), col(ColWhatsApp)
	ageMin, ageMax := col(ColAgeMin).(*array.Int16), col(ColAgeMax).(*array.Int16)
	var out []string
	for i := 0; i < int(rec.NumRows()); i++ {
		if number.IsNull(i) || number.ValueStr(i) == "" {
			t.Fatalf("row %d has no number", i)
		}
		out = append(out, number.ValueStr(i))
		switch st := status.Dictionary().ValueStr(status.GetValueIndex(i)); st {
		case StatusChecked:
		case StatusFailed:
			if !whatsapp.IsNull(i) {
				t.Fatalf("row %d failed, with whatsapp %s", i, whatsapp.ValueStr(i))
			}
		default:
			t.Fatalf("row %d status %q", i, st)
		}
		if ageMin.IsValid(i) && ageMax.IsValid(i) && (ageMin.Value(i) < 0 || ageMin.Value(i) > ageMax.Value(i)) {
			t.Fatalf("row %d ages %d-%d", i, ageMin.Value(i), ageMax.Value(i))
		}
	}
	return out
}

// FuzzReader reads arbitrary files as result workbooks, seeded from the
// workbooks of testdata/xlsx (written by LibreOffice, SheetJS, ExcelJS) and
// hand-made ones: no panic, no hang, every error a *ParseError in one line
// naming the file, every batch valid profiles without the column never
// carried. Read a second time expecting the numbers it held plus one more,
// it has one row per distinct number and the extra one failed, the rest
// dropped: the row accounting of a real result.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzseed.Files(f, filepath.Join(goldenDir, "*.xlsx")) {
		f.Add(s.Data)
	}
	for _, sheet := range fuzzSheets {
		f.Add(xlsxtest.Zip(f, xlsxtest.MinimalParts(sheet, xlsxtest.SSTXML("+41798284651", "yes", `<si><r><t>a</t></r><rPh><t>b</t></rPh></si>`))))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		numbers, r := profileRows(t, data, nil)
		if r == nil {
			return
		}
		const extra = "+10000000000"
		if slices.Contains(numbers, extra) {
			return
		}
		distinct := map[string]bool{}
		for _, n := range numbers {
			distinct[n] = true
		}
		again, r2 := profileRows(t, data, append(slices.Clone(numbers), extra))
		if r2 == nil {
			t.Fatal("the file read once does not read again")
		}
		if len(again) != len(distinct)+1 || again[len(again)-1] != extra {
			t.Fatalf("%d rows for %d expected numbers: %q", len(again), len(distinct)+1, again)
		}
		if r2.Dropped() != len(numbers)-len(distinct) {
			t.Fatalf("%d rows dropped of %d read, %d distinct", r2.Dropped(), len(numbers), len(distinct))
		}
	})
}

// FuzzSheetXML puts arbitrary sheet and shared string XML into a valid
// package, so that mutations reach the XML scanner rather than the zip
// checksum; seeded with the sheets and shared strings of testdata/xlsx.
func FuzzSheetXML(f *testing.F) {
	for _, s := range fuzzseed.Files(f, filepath.Join(goldenDir, "*.xlsx")) {
		zr, err := zip.NewReader(bytes.NewReader(s.Data), int64(len(s.Data)))
		if err != nil {
			f.Fatal(err)
		}
		var sheets []string
		sst := ""
		for _, e := range zr.File {
			b, err := readZipEntry(e)
			if err != nil {
				f.Fatal(err)
			}
			switch {
			case strings.HasPrefix(e.Name, "xl/worksheets/sheet"):
				sheets = append(sheets, string(b))
			case e.Name == "xl/sharedStrings.xml":
				sst = string(b)
			}
		}
		for _, sheet := range sheets {
			f.Add([]byte(sheet), []byte(sst))
		}
	}
	for _, sheet := range fuzzSheets {
		f.Add([]byte(sheet), []byte(xlsxtest.SSTXML("+41798284651", "yes", `<si><r><t>a&amp;</t></r><rPh><t>b</t></rPh></si>`)))
	}
	f.Fuzz(func(t *testing.T, sheet, sst []byte) {
		ps := xlsxtest.MinimalParts(string(sheet), string(sst))
		for i := range ps {
			ps[i].Store = true // deflating each input would cost more than reading it
		}
		profileRows(t, xlsxtest.Zip(t, ps), nil)
	})
}

func readZipEntry(e *zip.File) ([]byte, error) {
	rc, err := e.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

var fuzzSheets = []string{
	xlsxtest.ResultSheet(3, ""),
	xlsxtest.SheetXML(xlsxtest.HeaderRow(1) + `<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c><c r="E2" t="s"><v>2</v></c><c r="D2"><v>25</v></c></row>`),
	xlsxtest.SheetXML(xlsxtest.HeaderRow(1) + `<row><c t="inlineStr"><is><t>+41798284651</t></is></c><c t="b"><v>1</v></c><c/><c t="str"><v><![CDATA[25-30]]></v></c>` +
		`<c t="inlineStr"><is><r><t>pet </t></r><r><t>&#x61;vatar</t></r></is></c><c t="e"><v>#N/A</v></c></row><row r="9"/>`),
	`<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>` +
		`<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>Number</x:t></x:is></x:c></x:row>` +
		`<x:row r="2"><x:c r="A2"><x:v>41798284651</x:v></x:c></x:row></x:sheetData></x:worksheet>`,
}
