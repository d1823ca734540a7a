package arrowconv

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/wadeep/wadeep/internal/xlsx/xlsxtest"
)

// fuzzLimits keep one input's work small.
var fuzzLimits = []Option{
	WithMaxUncompressed(16 << 20), WithMaxRows(5000), WithMaxColumns(200),
	WithMaxCellBytes(4096), WithMaxSharedStrings(5000), WithMaxSharedStringBytes(1 << 20),
	WithBatchRows(50), WithMissingColumns(),
}

// readAllOrErr reads a whole file; any error must be a *ParseError.
func readAllOrErr(t *testing.T, data []byte) {
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), fuzzLimits...)
	if err == nil {
		for r.Next() {
			_ = r.RecordBatch().NumRows()
		}
		err = r.Err()
		r.Release()
	}
	var pe *ParseError
	if err != nil && !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
}

// FuzzReader reads arbitrary files as workbooks: no panic, no hang, and
// every error a *ParseError. Seeded from testdata/xlsx and hand-made files.
func FuzzReader(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.xlsx"))
	for _, path := range files {
		if b, err := os.ReadFile(path); err == nil {
			f.Add(b)
		}
	}
	for _, sheet := range fuzzSheets {
		f.Add(xlsxtest.Zip(f, xlsxtest.MinimalParts(sheet, xlsxtest.SSTXML("+41798284651", "yes", `<si><r><t>a</t></r><rPh><t>b</t></rPh></si>`))))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		readAllOrErr(t, data)
	})
}

// FuzzSheetXML puts arbitrary sheet and shared string XML into a valid
// package, so that mutations reach the XML scanner rather than the zip
// checksum.
func FuzzSheetXML(f *testing.F) {
	for _, sheet := range fuzzSheets {
		f.Add([]byte(sheet), []byte(xlsxtest.SSTXML("+41798284651", "yes", `<si><r><t>a&amp;</t></r><rPh><t>b</t></rPh></si>`)))
	}
	f.Fuzz(func(t *testing.T, sheet, sst []byte) {
		ps := xlsxtest.MinimalParts(string(sheet), string(sst))
		for i := range ps {
			ps[i].Store = true // deflating each input would cost more than reading it
		}
		readAllOrErr(t, xlsxtest.Zip(t, ps))
	})
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
