package xlsx

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/internal/xlsx/xlsxtest"
)

// srcRow is a row as Rows yields it.
type srcRow struct {
	num   int
	cells []string
}

func row(num int, cells ...string) srcRow {
	return srcRow{num: num, cells: append([]string{}, cells...)}
}

// sourceRowsOf reads a hand-made workbook with Rows.
func sourceRowsOf(t *testing.T, data []byte) ([]srcRow, error) {
	t.Helper()
	src, err := Open(bytes.NewReader(data), int64(len(data)), Limits{})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var rows []srcRow
	for src.Next() {
		n, cells := src.Row()
		r := srcRow{num: n, cells: []string{}}
		for _, c := range cells {
			r.cells = append(r.cells, string(c))
		}
		rows = append(rows, r)
	}
	return rows, src.Err()
}

// TestSheetQuirks covers what writers put in sheet XML, cell by cell.
func TestSheetQuirks(t *testing.T) {
	tests := []struct {
		name  string
		sheet string
		sst   string
		want  []srcRow
	}{
		{
			name:  "shared and inline strings, numbers",
			sheet: xlsxtest.SheetXML(`<row r="1"><c r="A1" t="s"><v>1</v></c><c r="B1" t="inlineStr"><is><t>in</t></is></c><c r="C1"><v>41798284651</v></c><c r="D1" t="n"><v>1.5E3</v></c></row>`),
			sst:   xlsxtest.SSTXML("zero", "one"),
			want:  []srcRow{row(1, "one", "in", "41798284651", "1.5E3")},
		},
		{
			name: "namespace prefixes",
			sheet: `<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>` +
				`<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>a</x:t></x:is></x:c><x:c r="B1" t="s"><x:v>0</x:v></x:c></x:row></x:sheetData></x:worksheet>`,
			sst:  `<x:sst xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:si><x:t>b</x:t></x:si></x:sst>`,
			want: []srcRow{row(1, "a", "b")},
		},
		{
			name:  "entities and character references",
			sheet: xlsxtest.SheetXML(`<row r="1">` + xlsxtest.Inline("A1", `a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#65;&#x42;&#x1F600;&#13;`) + `<c r="B1" t="str"><v>x&amp;y</v></c></row>`),
			want:  []srcRow{row(1, "a & b <c> \"d\" 'e' AB😀\r", "x&y")},
		},
		{
			name:  "CDATA and comments in text",
			sheet: xlsxtest.SheetXML(`<row r="1"><c r="A1" t="str"><v><![CDATA[1<2 & 3]]></v></c>` + xlsxtest.Inline("B1", `a<!-- not text -->b`) + `</row>`),
			want:  []srcRow{row(1, "1<2 & 3", "ab")},
		},
		{
			name:  "rows and cells without references",
			sheet: xlsxtest.SheetXML(`<row><c t="inlineStr"><is><t>a</t></is></c><c><v>1</v></c></row><row><c><v>2</v></c></row>`),
			want:  []srcRow{row(1, "a", "1"), row(2, "2")},
		},
		{
			name:  "sparse references fill gaps",
			sheet: xlsxtest.SheetXML(`<row r="3"><c r="C3"><v>1</v></c><c r="E3"><v>2</v></c><c><v>3</v></c></row>`),
			want:  []srcRow{row(3, "", "", "1", "", "2", "3")},
		},
		{
			name:  "row numbers with gaps and out of sequence",
			sheet: xlsxtest.SheetXML(`<row r="2"><c r="A2"><v>1</v></c></row><row r="9"><c r="A9"><v>2</v></c></row><row r="5"><c r="A5"><v>3</v></c></row><row><c><v>4</v></c></row>`),
			want:  []srcRow{row(2, "1"), row(9, "2"), row(5, "3"), row(6, "4")},
		},
		{
			name:  "self-closing rows and cells",
			sheet: xlsxtest.SheetXML(`<row r="1" spans="1:3"/><row r="2"><c r="A2" s="1"/><c r="B2"><v>x</v></c><c r="C2"><v/></c></row>`),
			want:  []srcRow{row(1), row(2, "", "x", "")},
		},
		{
			name: "cell types",
			sheet: xlsxtest.SheetXML(`<row r="1"><c r="A1" t="b"><v>1</v></c><c r="B1" t="b"><v>0</v></c><c r="C1" t="e"><v>#N/A</v></c>` +
				`<c r="D1" t="d"><v>2024-10-19T18:53:43Z</v></c><c r="E1" t="str"><f>A1&amp;B1</f><v>10</v></c><c r="F1"><f>1+1</f></c>` +
				`<c r="G1" t="inlineStr"><v>v-only</v></c><c r="H1" t="s"/></row>`),
			want: []srcRow{row(1, "1", "0", "", "2024-10-19T18:53:43Z", "10", "", "v-only", "")},
		},
		{
			name:  "rich text and phonetic runs",
			sheet: xlsxtest.SheetXML(`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><r><rPr><b/></rPr><t>in</t></r><r><t xml:space="preserve"> line</t></r></is></c></row>`),
			sst:   xlsxtest.SSTXML(`<si><r><rPr><rFont val="MS Gothic"/></rPr><t>漢</t></r><r><t>字</t></r><rPh sb="0" eb="2"><t>かんじ</t></rPh><phoneticPr fontId="1"/></si>`),
			want:  []srcRow{row(1, "漢字", "in line")},
		},
		{
			name:  "OOXML escapes",
			sheet: xlsxtest.SheetXML(`<row r="1"><c r="A1" t="s"><v>0</v></c>` + xlsxtest.Inline("B1", `x_x000D__x000A_y_x005F_x0041_z`) + `<c r="C1" t="str"><v>_x0041_</v></c></row>`),
			sst:   xlsxtest.SSTXML(`a_x000D_b_x0041__xD83D__xDE00_`),
			want:  []srcRow{row(1, "a\rbA😀", "x\r\ny_x0041_z", "_x0041_")},
		},
		{
			name:  "line ends and preserved space",
			sheet: xlsxtest.SheetXML("<row r=\"1\">" + xlsxtest.Inline("A1", "a\r\nb\rc") + `<c r="B1" t="inlineStr"><is><t xml:space="preserve">  sp  </t></is></c></row>`),
			want:  []srcRow{row(1, "a\nb\nc", "  sp  ")},
		},
		{
			name: "byte order mark, comments, instructions and indentation",
			sheet: "\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- writer -->\n<worksheet " + xlsxtest.NSMain + ">\n  <sheetData>\n    <row r=\"1\">\n      <!-- a cell -->\n      <c r=\"A1\">\n        <v>1</v>\n      </c>\n" +
				"      <?pi data?>\n      <c r=\"B1\" t=\"inlineStr\">\n        <is>\n          <t>b</t>\n        </is>\n      </c>\n    </row>\n  </sheetData>\n</worksheet>\n",
			want: []srcRow{row(1, "1", "b")},
		},
		{
			name:  "attributes in any order, single quotes and spaces",
			sheet: xlsxtest.SheetXML(`<row spans = '1:2' r = '4' ><c t='inlineStr' s="3" r='B4' ><is><t>b</t></is></c></row>`),
			want:  []srcRow{row(4, "", "b")},
		},
		{
			name:  "elements the reader skips",
			sheet: xlsxtest.SheetXML(`<row r="1"><c r="A1"><extLst><ext uri="x"><v>no</v></ext></extLst><v>1</v></c><c r="B1"><is><t>no type</t></is><v>2</v></c></row>`),
			want:  []srcRow{row(1, "1", "2")},
		},
		{
			name:  "no sheetData",
			sheet: `<worksheet ` + xlsxtest.NSMain + `><dimension ref="A1"/></worksheet>`,
		},
		{
			name:  "empty sheetData",
			sheet: `<worksheet ` + xlsxtest.NSMain + `><sheetData/></worksheet>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sourceRowsOf(t, xlsxtest.Zip(t, xlsxtest.MinimalParts(tt.sheet, tt.sst)))
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestWorkbookParts covers how writers name and relate the parts.
func TestWorkbookParts(t *testing.T) {
	sheet := xlsxtest.SheetXML(`<row r="1">` + xlsxtest.Inline("A1", "ok") + `</row>`)
	want := []srcRow{row(1, "ok")}
	base := func() []xlsxtest.Part { return xlsxtest.MinimalParts(sheet, "") }
	set := func(ps []xlsxtest.Part, name, body string) []xlsxtest.Part {
		for i := range ps {
			if ps[i].Name == name {
				ps[i].Body = body
				return ps
			}
		}
		return append(ps, xlsxtest.Part{Name: name, Body: body})
	}
	rename := func(ps []xlsxtest.Part, from, to string) []xlsxtest.Part {
		for i := range ps {
			if ps[i].Name == from {
				ps[i].Name = to
			}
		}
		return ps
	}
	relsWith := func(rels string) string {
		return `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` + rels + `</Relationships>`
	}
	wbWith := func(sheets string) string {
		return `<workbook ` + xlsxtest.NSMain + ` xmlns:r="` + xlsxtest.NSRel + `"><sheets>` + sheets + `</sheets></workbook>`
	}
	tests := []struct {
		name  string
		parts []xlsxtest.Part
	}{
		{"absolute target", rename(set(base(), "xl/_rels/workbook.xml.rels", relsWith(`<Relationship Id="rId1" Type="`+xlsxtest.NSRel+`/worksheet" Target="/xl/worksheets/data.xml"/>`)), "xl/worksheets/sheet1.xml", "xl/worksheets/data.xml")},
		{"relative target climbing", rename(set(base(), "xl/_rels/workbook.xml.rels", relsWith(`<Relationship Id="rId1" Type="`+xlsxtest.NSRel+`/worksheet" Target="../xl/sheets/first.xml"/>`)), "xl/worksheets/sheet1.xml", "xl/sheets/first.xml")},
		{"no package relationships", func() []xlsxtest.Part {
			ps := base()
			return append(ps[:1], ps[2:]...)
		}()},
		{"workbook elsewhere", rename(rename(rename(set(set(base(), "_rels/.rels", relsWith(`<Relationship Id="r" Type="`+xlsxtest.NSRel+`/officeDocument" Target="/book/wb.xml"/>`)),
			"xl/_rels/workbook.xml.rels", relsWith(`<Relationship Id="rId1" Type="`+xlsxtest.NSRel+`/worksheet" Target="s.xml"/>`)), "xl/workbook.xml", "book/wb.xml"), "xl/worksheets/sheet1.xml", "book/s.xml"), "xl/_rels/workbook.xml.rels", "book/_rels/wb.xml.rels")},
		{"first sheet is a chart sheet", set(set(base(), "xl/workbook.xml", wbWith(`<sheet name="Chart" sheetId="2" r:id="rId9"/><sheet name="Results" sheetId="1" r:id="rId1"/>`)),
			"xl/_rels/workbook.xml.rels", relsWith(`<Relationship Id="rId9" Type="`+xlsxtest.NSRel+`/chartsheet" Target="chartsheets/sheet1.xml"/><Relationship Id="rId1" Type="`+xlsxtest.NSRel+`/worksheet" Target="worksheets/sheet1.xml"/>`))},
		{"strict OOXML relationship types", set(base(), "xl/_rels/workbook.xml.rels", relsWith(`<Relationship Id="rId1" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/worksheet" Target="worksheets/sheet1.xml"/>`))},
		{"part names differ in case", rename(base(), "xl/worksheets/sheet1.xml", "XL/Worksheets/Sheet1.XML")},
		{"stored, not deflated", func() []xlsxtest.Part {
			ps := base()
			for i := range ps {
				ps[i].Store = true
			}
			return ps
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sourceRowsOf(t, xlsxtest.Zip(t, tt.parts))
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
	t.Run("shared strings found without a relationship", func(t *testing.T) {
		ps := xlsxtest.MinimalParts(xlsxtest.SheetXML(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`), xlsxtest.SSTXML("found"))
		ps = set(ps, "xl/_rels/workbook.xml.rels", relsWith(`<Relationship Id="rId1" Type="`+xlsxtest.NSRel+`/worksheet" Target="worksheets/sheet1.xml"/>`))
		got, err := sourceRowsOf(t, xlsxtest.Zip(t, ps))
		require.NoError(t, err)
		require.Equal(t, []srcRow{row(1, "found")}, got)
	})
}

// TestScannerChunkBoundaries reads sheet XML through readers that return it
// in small or odd pieces, which puts every token across a buffer boundary
// somewhere, and wants the same rows.
func TestScannerChunkBoundaries(t *testing.T) {
	var b strings.Builder
	b.WriteString(xlsxtest.HeaderRow(1))
	for i := 2; i < 400; i++ {
		n := strconv.Itoa(i)
		b.WriteString(`<row r="` + n + `" spans="1:8">` + xlsxtest.Inline("A"+n, "+4179828"+n) + `<c r="B` + n + `" t="s"><v>0</v></c>` +
			xlsxtest.Inline("C"+n, "https://pps.whatsapp.net/v/t61/"+strings.Repeat("ab", i%40)+"_n.jpg?a=1&amp;b=2") +
			`<c r="D` + n + `"><v>` + strconv.Itoa(18+i%50) + `</v></c>` + xlsxtest.Inline("E"+n, "<![CDATA[pet <avatar>]]>") + xlsxtest.Inline("F"+n, "f&#xE9;male") +
			`<c r="G` + n + `" t="str"><v>black&#10;brown</v></c></row>`)
	}
	xml := xlsxtest.SheetXML(b.String())
	sst := newTestSST("yes")
	read := func(r io.Reader) ([]srcRow, error) {
		sh := &sheetReader{sc: newScanner(r, nil), sst: sst, lim: DefaultLimits(), rowBytes: defaultMaxRowBytes}
		var rows []srcRow
		blk := &rowBlock{}
		for {
			sh.fill(blk)
			from := 0
			for _, br := range blk.rows {
				r := srcRow{num: br.num, cells: []string{}}
				for _, sp := range blk.spans[from:br.ends] {
					src := blk.arena
					if sp.shared {
						src = sst.data
					}
					r.cells = append(r.cells, string(src[sp.start:sp.end]))
				}
				from = br.ends
				rows = append(rows, r)
			}
			if blk.last {
				return rows, blk.err
			}
		}
	}
	want, err := read(strings.NewReader(xml))
	require.NoError(t, err)
	require.Len(t, want, 399)
	require.Equal(t, "pet <avatar>", want[5].cells[4])
	for name, r := range map[string]io.Reader{
		"one byte":  iotest.OneByteReader(strings.NewReader(xml)),
		"half":      iotest.HalfReader(strings.NewReader(xml)),
		"data+EOF":  iotest.DataErrReader(strings.NewReader(xml)),
		"timeout":   iotest.TimeoutReader(strings.NewReader(xml)),
		"truncated": io.LimitReader(strings.NewReader(xml), int64(len(xml)/2)),
		"failing":   io.MultiReader(strings.NewReader(xml[:len(xml)/3]), iotest.ErrReader(io.ErrClosedPipe)),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := read(r)
			switch name {
			case "timeout":
				require.ErrorIs(t, err, iotest.ErrTimeout)
			case "truncated":
				require.ErrorIs(t, err, ErrMalformed)
				require.ErrorContains(t, err, "ends")
			case "failing":
				require.ErrorIs(t, err, io.ErrClosedPipe)
			default:
				require.NoError(t, err)
				require.Equal(t, want, got)
				return
			}
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			require.Less(t, len(got), len(want))
		})
	}
}

func newTestSST(items ...string) *sharedStrings {
	t := &sharedStrings{}
	for _, s := range items {
		t.data = append(t.data, s...)
		t.ends = append(t.ends, uint32(len(t.data)))
	}
	return t
}

func TestColumnName(t *testing.T) {
	require.Equal(t, "A", ColumnName(0))
	require.Equal(t, "Z", ColumnName(25))
	require.Equal(t, "AA", ColumnName(26))
	require.Equal(t, "XFD", ColumnName(16383))
}
