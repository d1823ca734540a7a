package xlsx

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/internal/xlsx/xlsxtest"
)

// readErr reads all rows of data and returns the error that stopped it,
// which must be a *ParseError. Limits of zero keep their defaults.
func readErr(t *testing.T, data []byte, lim ...Limits) error {
	t.Helper()
	var l Limits
	if len(lim) > 0 {
		l = lim[0]
	}
	r, err := Open(bytes.NewReader(data), int64(len(data)), l)
	if err == nil {
		for r.Next() {
		}
		err = r.Err()
		r.Close()
	}
	require.Error(t, err)
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	return err
}

func requireLimit(t *testing.T, err error, option string) {
	t.Helper()
	require.ErrorIs(t, err, ErrLimit)
	var le *LimitError
	require.ErrorAs(t, err, &le)
	require.Equal(t, option, le.Option)
	require.ErrorContains(t, err, option)
}

func TestHostileFiles(t *testing.T) {
	valid := xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(3, ""), ""))

	t.Run("zip bomb", func(t *testing.T) {
		// 32 MiB of spaces between rows deflate to about 32 KiB.
		bomb := xlsxtest.ResultSheet(3, strings.Repeat(" ", 32<<20))
		err := readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(bomb, "")))
		requireLimit(t, err, "WithMaxCompressionRatio")
		require.ErrorContains(t, err, "compression ratio of xl/worksheets/sheet1.xml")
		require.ErrorContains(t, err, "200:1")
	})
	t.Run("zip bomb with a lying header", func(t *testing.T) {
		// The central directory claims a big compressed size, so only the
		// bytes actually consumed show the ratio.
		bomb := xlsxtest.ResultSheet(3, strings.Repeat(" ", 32<<20))
		data := xlsxtest.Zip(t, xlsxtest.MinimalParts(bomb, ""))
		data = patchCentral(t, data, "xl/worksheets/sheet1.xml", func(h []byte) {
			binary.LittleEndian.PutUint32(h[20:], uint32(len(bomb)/10)) // compressed size
		})
		requireLimit(t, readErr(t, data), "WithMaxCompressionRatio")
	})
	t.Run("entry larger than declared", func(t *testing.T) {
		data := patchCentral(t, valid, "xl/worksheets/sheet1.xml", func(h []byte) {
			binary.LittleEndian.PutUint32(h[24:], 100) // uncompressed size
		})
		err := readErr(t, data)
		require.ErrorIs(t, err, ErrMalformed)
		require.ErrorContains(t, err, "declared size")
	})
	t.Run("uncompressed total", func(t *testing.T) {
		err := readErr(t, valid, Limits{Uncompressed: 1000})
		requireLimit(t, err, "WithMaxUncompressed")
	})
	t.Run("too many columns", func(t *testing.T) {
		err := readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(2, `<row r="9"><c r="AMK9"><v>1</v></c></row>`), "")))
		requireLimit(t, err, "WithMaxColumns")
		require.ErrorContains(t, err, "1024")
		require.ErrorContains(t, err, "row 9")
		// Raised to Excel's width, a cell past it is still refused.
		err = readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(2, `<row r="9"><c r="XFE9"><v>1</v></c></row>`), "")), Limits{Columns: 16384})
		requireLimit(t, err, "WithMaxColumns")
		require.ErrorContains(t, err, "16384")
		err = readErr(t, valid, Limits{Columns: 4})
		requireLimit(t, err, "WithMaxColumns")
		require.ErrorContains(t, err, "columns of a row")
	})
	t.Run("column reference past any limit", func(t *testing.T) {
		err := readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(1, `<row r="9"><c r="`+strings.Repeat("Z", 1000)+`9"><v>1</v></c></row>`), "")))
		requireLimit(t, err, "WithMaxColumns")
	})
	t.Run("cell too long", func(t *testing.T) {
		long := strings.Repeat("é", 80)
		err := readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(2, `<row r="9">`+xlsxtest.Inline("A9", long)+`</row>`), "")), Limits{CellBytes: 100})
		requireLimit(t, err, "WithMaxCellBytes")
		var pe *ParseError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, 9, pe.Row)
		require.Equal(t, 1, pe.Column)
		require.ErrorContains(t, err, "cell A9")

		err = readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(2, ""), xlsxtest.SSTXML(long))), Limits{CellBytes: 100})
		requireLimit(t, err, "WithMaxCellBytes")
		require.ErrorContains(t, err, "shared string 1")
	})
	t.Run("default cell limit", func(t *testing.T) {
		err := readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(2, `<row r="9">`+xlsxtest.Inline("A9", strings.Repeat("x", DefaultMaxCellBytes+1))+`</row>`), "")))
		requireLimit(t, err, "WithMaxCellBytes")
	})
	t.Run("row over the batch bytes", func(t *testing.T) {
		cells := ""
		for i := range 8 {
			cells += xlsxtest.Inline(ColumnName(i)+"9", strings.Repeat("x", 300))
		}
		err := readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(2, `<row r="9">`+cells+`</row>`), "")), Limits{RowBytes: 1000})
		requireLimit(t, err, "WithBatchBytes")
	})
	t.Run("too many rows", func(t *testing.T) {
		requireLimit(t, readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(10, ""), "")), Limits{Rows: 5}), "WithMaxRows")
		err := readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(2, `<row r="2000000">`+xlsxtest.Inline("A2000000", "+41798284651")+`</row>`), "")))
		requireLimit(t, err, "WithMaxRows")
		require.ErrorContains(t, err, "1048576")
		err = readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(2, `<row r="99999999999999999999999"></row>`), "")))
		requireLimit(t, err, "WithMaxRows")
	})
	t.Run("shared string table limits", func(t *testing.T) {
		sst := xlsxtest.SSTXML("a", "b", "c", "d")
		requireLimit(t, readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(1, ""), sst)), Limits{SharedStrings: 3}), "WithMaxSharedStrings")
		requireLimit(t, readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(1, ""), xlsxtest.SSTXML("aaaa", "bbbb", "cccc"))), Limits{SharedStringBytes: 10}), "WithMaxSharedStringBytes")
	})
	t.Run("shared string index out of range", func(t *testing.T) {
		err := readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(2, `<row r="9"><c r="B9" t="s"><v>7</v></c></row>`), xlsxtest.SSTXML("one"))))
		require.ErrorIs(t, err, ErrMalformed)
		require.ErrorContains(t, err, `shared string index "7" out of range (the table has 1)`)
		var pe *ParseError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, [2]int{9, 2}, [2]int{pe.Row, pe.Column})
		require.Equal(t, "Results", pe.Sheet)

		err = readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(2, `<row r="9"><c r="B9" t="s"><v>-1</v></c></row>`), "")))
		require.ErrorContains(t, err, "out of range (the table has 0)")
	})
	t.Run("truncated zip", func(t *testing.T) {
		for _, n := range []int{0, 10, len(valid) / 2, len(valid) - 10} {
			err := readErr(t, valid[:n])
			require.ErrorIs(t, err, ErrMalformed)
			require.ErrorIs(t, err, zip.ErrFormat)
		}
	})
	t.Run("corrupt deflate stream", func(t *testing.T) {
		data := bytes.Clone(valid)
		off := localData(t, data, "xl/worksheets/sheet1.xml")
		for i := off + 20; i < off+60; i++ {
			data[i] ^= 0x5A
		}
		require.ErrorIs(t, readErr(t, data), ErrMalformed)
	})
	t.Run("checksum", func(t *testing.T) {
		ps := xlsxtest.MinimalParts(xlsxtest.ResultSheet(3, ""), "")
		for i := range ps {
			ps[i].Store = true
		}
		data := xlsxtest.Zip(t, ps)
		off := localData(t, data, "xl/worksheets/sheet1.xml")
		i := bytes.Index(data[off:], []byte("yes")) + off
		copy(data[i:], "yet") // still well-formed XML, wrong CRC
		err := readErr(t, data)
		require.ErrorIs(t, err, zip.ErrChecksum)
	})
	t.Run("not a zip", func(t *testing.T) {
		err := readErr(t, []byte("Number,whatsapp\n+41798284651,yes\n"))
		require.ErrorIs(t, err, ErrMalformed)
	})
	t.Run("no workbook", func(t *testing.T) {
		data := xlsxtest.Zip(t, []xlsxtest.Part{{Name: "xl/worksheets/sheet1.xml", Body: xlsxtest.ResultSheet(1, "")}})
		err := readErr(t, data)
		require.ErrorIs(t, err, ErrMalformed)
		require.ErrorContains(t, err, "no workbook part xl/workbook.xml")
	})
	t.Run("no sheet", func(t *testing.T) {
		ps := xlsxtest.MinimalParts(xlsxtest.ResultSheet(1, ""), "")
		ps[2].Body = `<workbook ` + xlsxtest.NSMain + `><sheets/></workbook>`
		require.ErrorIs(t, readErr(t, xlsxtest.Zip(t, ps)), ErrNoSheet)

		ps = xlsxtest.MinimalParts(xlsxtest.ResultSheet(1, ""), "")
		ps = ps[:len(ps)-1] // the sheet part itself
		err := readErr(t, xlsxtest.Zip(t, ps))
		require.ErrorIs(t, err, ErrNoSheet)
		require.ErrorContains(t, err, "no part xl/worksheets/sheet1.xml")
	})
	for _, tt := range []struct{ name, xml, msg string }{
		{"unclosed tag", `<worksheet ` + xlsxtest.NSMain + `><sheetData>` + xlsxtest.HeaderRow(1) + `<row r="2"><c r="A2"`, "ends inside a tag"},
		{"broken attribute", xlsxtest.SheetXML(xlsxtest.HeaderRow(1) + `<row r="2"><c r="A2"</row>`), "malformed attribute in <c>"},
		{"XML ends inside sheetData", strings.TrimSuffix(xlsxtest.SheetXML(xlsxtest.HeaderRow(1)), `</sheetData><pageMargins left="0.7"/></worksheet>`), "XML ends"},
		{"mismatched end tag", xlsxtest.SheetXML(xlsxtest.HeaderRow(1) + `<row r="2"><c r="A2"><v>1</x></c></row>`), "<v> holds markup"},
		{"stray end tag", xlsxtest.SheetXML(xlsxtest.HeaderRow(1) + `<row r="2"></c></row>`), "unexpected </c> in <row>"},
		{"unknown entity", xlsxtest.SheetXML(xlsxtest.HeaderRow(1) + `<row r="2">` + xlsxtest.Inline("A2", "a &bogus; b") + `</row>`), "unknown or invalid reference &bogus;"},
		{"bad character reference", xlsxtest.SheetXML(xlsxtest.HeaderRow(1) + `<row r="2">` + xlsxtest.Inline("A2", "&#0;") + `</row>`), "invalid reference"},
		{"DTD", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>` + xlsxtest.SheetXML(xlsxtest.HeaderRow(1)), "DTD"},
		{"bad row number", xlsxtest.SheetXML(xlsxtest.HeaderRow(1) + `<row r="x2"></row>`), `bad row number "x2"`},
		{"bad cell reference", xlsxtest.SheetXML(xlsxtest.HeaderRow(1) + `<row r="2"><c r="2A"><v>1</v></c></row>`), `bad cell reference "2A"`},
		{"cells out of order", xlsxtest.SheetXML(xlsxtest.HeaderRow(1) + `<row r="2"><c r="C2"><v>1</v></c><c r="B2"><v>1</v></c></row>`), "comes after column C"},
		{"invalid UTF-8", xlsxtest.SheetXML(xlsxtest.HeaderRow(1) + `<row r="2">` + xlsxtest.Inline("A2", "a\xffb") + `</row>`), "invalid UTF-8"},
		{"unquoted attribute", xlsxtest.SheetXML(xlsxtest.HeaderRow(1) + `<row r=2></row>`), "unquoted attribute"},
		{"UTF-16", "\xFF\xFE<\x00", "UTF-16"},
	} {
		t.Run("malformed XML/"+tt.name, func(t *testing.T) {
			err := readErr(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(tt.xml, "")))
			require.ErrorIs(t, err, ErrMalformed)
			require.ErrorContains(t, err, tt.msg)
		})
	}
}

// TestScannerAlwaysProgresses feeds readers that never deliver: the scanner
// gives up instead of spinning.
func TestScannerAlwaysProgresses(t *testing.T) {
	sc := newScanner(zeroReader{}, nil)
	require.Equal(t, tagNone, sc.next())
	require.ErrorIs(t, sc.err, io.ErrNoProgress)
	_, err := fillChunk(zeroReader{}, make([]byte, 10))
	require.ErrorIs(t, err, io.ErrNoProgress)
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

// patchCentral edits the central directory header of the named entry.
func patchCentral(t *testing.T, data []byte, name string, edit func(h []byte)) []byte {
	t.Helper()
	data = bytes.Clone(data)
	sig := []byte{'P', 'K', 1, 2}
	for i := 0; ; {
		j := bytes.Index(data[i:], sig)
		require.GreaterOrEqual(t, j, 0, "no central header for %s", name)
		h := data[i+j:]
		n := int(binary.LittleEndian.Uint16(h[28:]))
		if string(h[46:46+n]) == name {
			edit(h)
			return data
		}
		i += j + 4
	}
}

// localData returns the offset of the named entry's data.
func localData(t *testing.T, data []byte, name string) int {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	for _, f := range zr.File {
		if f.Name == name {
			off, err := f.DataOffset()
			require.NoError(t, err)
			return int(off)
		}
	}
	require.FailNow(t, "no entry "+name)
	return 0
}

func TestCraftedXMLIsNotMisread(t *testing.T) {
	// A processing instruction inside a value is skipped, not an end of it.
	data := xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(1, `<row r="9"><c r="A9" t="inlineStr"><is><t>+4179<?x y?>8284651</t></is></c><c r="B9" t="inlineStr"><is><t>yes</t></is></c></row>`), ""))
	rows, err := sourceRowsOf(t, data)
	require.NoError(t, err)
	require.Equal(t, row(9, "+41798284651", "yes"), rows[len(rows)-1])

	// A cell with more attributes than are kept cannot be placed: refused.
	var attrs strings.Builder
	for i := 0; i < 20; i++ {
		attrs.WriteString(` x` + strconv.Itoa(i) + `="1"`)
	}
	data = xlsxtest.Zip(t, xlsxtest.MinimalParts(xlsxtest.ResultSheet(1, `<row r="9"><c`+"\t"+attrs.String()+` r="H9" t="inlineStr"><is><t>v</t></is></c></row>`), ""))
	err = readErr(t, data)
	require.ErrorIs(t, err, ErrMalformed)
	require.ErrorContains(t, err, "more than 16 attributes in <c>")
}
