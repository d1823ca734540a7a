package arrowconv

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
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

func requireLimit(t *testing.T, err error, option string) {
	t.Helper()
	require.ErrorIs(t, err, ErrLimit)
	var le *LimitError
	require.ErrorAs(t, err, &le)
	require.Equal(t, option, le.Option)
	require.ErrorContains(t, err, option)
}

// resultSheet is a valid result sheet: a header and n rows.
func resultSheet(n int, extra string) string {
	var b strings.Builder
	b.WriteString(headerRow(1))
	for i := 2; i <= n+1; i++ {
		s := itoa(i)
		b.WriteString(`<row r="` + s + `">` + inl("A"+s, "+4179828465"+itoa(i%10)) + inl("B"+s, "yes") + inl("D"+s, "25") + `</row>`)
	}
	b.WriteString(extra)
	return sheetXML(b.String())
}

func TestHostileFiles(t *testing.T) {
	valid := zipParts(t, minimalParts(resultSheet(3, ""), ""))

	t.Run("zip bomb", func(t *testing.T) {
		// 32 MiB of spaces between rows deflate to about 32 KiB.
		bomb := resultSheet(3, strings.Repeat(" ", 32<<20))
		err := readErr(t, zipParts(t, minimalParts(bomb, "")))
		requireLimit(t, err, "WithMaxCompressionRatio")
		require.ErrorContains(t, err, "compression ratio of xl/worksheets/sheet1.xml")
		require.ErrorContains(t, err, "200:1")
	})
	t.Run("zip bomb with a lying header", func(t *testing.T) {
		// The central directory claims a big compressed size, so only the
		// bytes actually consumed show the ratio.
		bomb := resultSheet(3, strings.Repeat(" ", 32<<20))
		data := zipParts(t, minimalParts(bomb, ""))
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
		err := readErr(t, valid, WithMaxUncompressed(1000))
		requireLimit(t, err, "WithMaxUncompressed")
	})
	t.Run("too many columns", func(t *testing.T) {
		err := readErr(t, zipParts(t, minimalParts(resultSheet(2, `<row r="9"><c r="AMK9"><v>1</v></c></row>`), "")))
		requireLimit(t, err, "WithMaxColumns")
		require.ErrorContains(t, err, "1024")
		require.ErrorContains(t, err, "row 9")
		// Raised to Excel's width, a cell past it is still refused.
		err = readErr(t, zipParts(t, minimalParts(resultSheet(2, `<row r="9"><c r="XFE9"><v>1</v></c></row>`), "")), WithMaxColumns(16384))
		requireLimit(t, err, "WithMaxColumns")
		require.ErrorContains(t, err, "16384")
		err = readErr(t, valid, WithMaxColumns(4))
		requireLimit(t, err, "WithMaxColumns")
		require.ErrorContains(t, err, "columns of a row")
	})
	t.Run("column reference past any limit", func(t *testing.T) {
		err := readErr(t, zipParts(t, minimalParts(resultSheet(1, `<row r="9"><c r="`+strings.Repeat("Z", 1000)+`9"><v>1</v></c></row>`), "")))
		requireLimit(t, err, "WithMaxColumns")
	})
	t.Run("cell too long", func(t *testing.T) {
		long := strings.Repeat("é", 80)
		err := readErr(t, zipParts(t, minimalParts(resultSheet(2, `<row r="9">`+inl("A9", long)+`</row>`), "")), WithMaxCellBytes(100))
		requireLimit(t, err, "WithMaxCellBytes")
		var pe *ParseError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, 9, pe.Row)
		require.Equal(t, 1, pe.Column)
		require.ErrorContains(t, err, "cell A9")

		err = readErr(t, zipParts(t, minimalParts(resultSheet(2, ""), sstXML(long))), WithMaxCellBytes(100))
		requireLimit(t, err, "WithMaxCellBytes")
		require.ErrorContains(t, err, "shared string 1")
	})
	t.Run("default cell limit", func(t *testing.T) {
		err := readErr(t, zipParts(t, minimalParts(resultSheet(2, `<row r="9">`+inl("A9", strings.Repeat("x", DefaultMaxCellBytes+1))+`</row>`), "")))
		requireLimit(t, err, "WithMaxCellBytes")
	})
	t.Run("row over the batch bytes", func(t *testing.T) {
		cells := ""
		for i := range 8 {
			cells += inl(columnName(i)+"9", strings.Repeat("x", 300))
		}
		err := readErr(t, zipParts(t, minimalParts(resultSheet(2, `<row r="9">`+cells+`</row>`), "")), WithBatchBytes(1000))
		requireLimit(t, err, "WithBatchBytes")
	})
	t.Run("too many rows", func(t *testing.T) {
		requireLimit(t, readErr(t, zipParts(t, minimalParts(resultSheet(10, ""), "")), WithMaxRows(5)), "WithMaxRows")
		err := readErr(t, zipParts(t, minimalParts(resultSheet(2, `<row r="2000000">`+inl("A2000000", "+41798284651")+`</row>`), "")))
		requireLimit(t, err, "WithMaxRows")
		require.ErrorContains(t, err, "1048576")
		err = readErr(t, zipParts(t, minimalParts(resultSheet(2, `<row r="99999999999999999999999"></row>`), "")))
		requireLimit(t, err, "WithMaxRows")
	})
	t.Run("shared string table limits", func(t *testing.T) {
		sst := sstXML("a", "b", "c", "d")
		requireLimit(t, readErr(t, zipParts(t, minimalParts(resultSheet(1, ""), sst)), WithMaxSharedStrings(3)), "WithMaxSharedStrings")
		requireLimit(t, readErr(t, zipParts(t, minimalParts(resultSheet(1, ""), sstXML("aaaa", "bbbb", "cccc"))), WithMaxSharedStringBytes(10)), "WithMaxSharedStringBytes")
	})
	t.Run("shared string index out of range", func(t *testing.T) {
		err := readErr(t, zipParts(t, minimalParts(resultSheet(2, `<row r="9"><c r="B9" t="s"><v>7</v></c></row>`), sstXML("one"))))
		require.ErrorIs(t, err, ErrMalformed)
		require.ErrorContains(t, err, `shared string index "7" out of range (the table has 1)`)
		var pe *ParseError
		require.ErrorAs(t, err, &pe)
		require.Equal(t, [2]int{9, 2}, [2]int{pe.Row, pe.Column})
		require.Equal(t, "Results", pe.Sheet)

		err = readErr(t, zipParts(t, minimalParts(resultSheet(2, `<row r="9"><c r="B9" t="s"><v>-1</v></c></row>`), "")))
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
		ps := minimalParts(resultSheet(3, ""), "")
		for i := range ps {
			ps[i].store = true
		}
		data := zipParts(t, ps)
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
		data := zipParts(t, []part{{name: "xl/worksheets/sheet1.xml", body: resultSheet(1, "")}})
		err := readErr(t, data)
		require.ErrorIs(t, err, ErrMalformed)
		require.ErrorContains(t, err, "no workbook part xl/workbook.xml")
	})
	t.Run("no sheet", func(t *testing.T) {
		ps := minimalParts(resultSheet(1, ""), "")
		ps[2].body = `<workbook ` + nsMain + `><sheets/></workbook>`
		require.ErrorIs(t, readErr(t, zipParts(t, ps)), ErrNoSheet)

		ps = minimalParts(resultSheet(1, ""), "")
		ps = ps[:len(ps)-1] // the sheet part itself
		err := readErr(t, zipParts(t, ps))
		require.ErrorIs(t, err, ErrNoSheet)
		require.ErrorContains(t, err, "no part xl/worksheets/sheet1.xml")
	})
	for _, tt := range []struct{ name, xml, msg string }{
		{"unclosed tag", `<worksheet ` + nsMain + `><sheetData>` + headerRow(1) + `<row r="2"><c r="A2"`, "ends inside a tag"},
		{"broken attribute", sheetXML(headerRow(1) + `<row r="2"><c r="A2"</row>`), "malformed attribute in <c>"},
		{"XML ends inside sheetData", strings.TrimSuffix(sheetXML(headerRow(1)), `</sheetData><pageMargins left="0.7"/></worksheet>`), "XML ends"},
		{"mismatched end tag", sheetXML(headerRow(1) + `<row r="2"><c r="A2"><v>1</x></c></row>`), "<v> holds markup"},
		{"stray end tag", sheetXML(headerRow(1) + `<row r="2"></c></row>`), "unexpected </c> in <row>"},
		{"unknown entity", sheetXML(headerRow(1) + `<row r="2">` + inl("A2", "a &bogus; b") + `</row>`), "unknown or invalid reference &bogus;"},
		{"bad character reference", sheetXML(headerRow(1) + `<row r="2">` + inl("A2", "&#0;") + `</row>`), "invalid reference"},
		{"DTD", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>` + sheetXML(headerRow(1)), "DTD"},
		{"bad row number", sheetXML(headerRow(1) + `<row r="x2"></row>`), `bad row number "x2"`},
		{"bad cell reference", sheetXML(headerRow(1) + `<row r="2"><c r="2A"><v>1</v></c></row>`), `bad cell reference "2A"`},
		{"cells out of order", sheetXML(headerRow(1) + `<row r="2"><c r="C2"><v>1</v></c><c r="B2"><v>1</v></c></row>`), "comes after column C"},
		{"invalid UTF-8", sheetXML(headerRow(1) + `<row r="2">` + inl("A2", "a\xffb") + `</row>`), "invalid UTF-8"},
		{"unquoted attribute", sheetXML(headerRow(1) + `<row r=2></row>`), "unquoted attribute"},
		{"UTF-16", "\xFF\xFE<\x00", "UTF-16"},
	} {
		t.Run("malformed XML/"+tt.name, func(t *testing.T) {
			err := readErr(t, zipParts(t, minimalParts(tt.xml, "")))
			require.ErrorIs(t, err, ErrMalformed)
			require.ErrorContains(t, err, tt.msg)
		})
	}
	t.Run("file named in errors", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "result.xlsx")
		require.NoError(t, os.WriteFile(path, zipParts(t, minimalParts(resultSheet(1, `<row r="5"><c r="A5" t="s"><v>3</v></c></row>`), "")), 0o600))
		r, err := OpenFile(path)
		require.NoError(t, err)
		defer r.Release()
		for r.Next() {
		}
		require.ErrorContains(t, r.Err(), `arrowconv: result.xlsx: sheet "Results": cell A5: malformed workbook`)
	})
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
	data := zipParts(t, minimalParts(resultSheet(1, `<row r="9"><c r="A9" t="inlineStr"><is><t>+4179<?x y?>8284651</t></is></c><c r="B9" t="inlineStr"><is><t>yes</t></is></c></row>`), ""))
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	defer r.Release()
	var numbers []string
	for r.Next() {
		for i := 0; i < int(r.RecordBatch().NumRows()); i++ {
			numbers = append(numbers, r.RecordBatch().Column(idxNumber).ValueStr(i))
		}
	}
	require.NoError(t, r.Err())
	require.Contains(t, numbers, "+41798284651")

	// A cell with more attributes than are kept cannot be placed: refused.
	var attrs strings.Builder
	for i := 0; i < 20; i++ {
		attrs.WriteString(` x` + itoa(i) + `="1"`)
	}
	data = zipParts(t, minimalParts(resultSheet(1, `<row r="9"><c`+"\t"+attrs.String()+` r="H9" t="inlineStr"><is><t>v</t></is></c></row>`), ""))
	err = readErr(t, data)
	require.ErrorIs(t, err, ErrMalformed)
	require.ErrorContains(t, err, "more than 16 attributes in <c>")
}
