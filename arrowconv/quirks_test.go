package arrowconv

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

func row(num int, cells ...string) srcRow {
	return srcRow{num: num, cells: append([]string{}, cells...)}
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
			sheet: sheetXML(`<row r="1"><c r="A1" t="s"><v>1</v></c><c r="B1" t="inlineStr"><is><t>in</t></is></c><c r="C1"><v>41798284651</v></c><c r="D1" t="n"><v>1.5E3</v></c></row>`),
			sst:   sstXML("zero", "one"),
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
			sheet: sheetXML(`<row r="1">` + inl("A1", `a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#65;&#x42;&#x1F600;&#13;`) + `<c r="B1" t="str"><v>x&amp;y</v></c></row>`),
			want:  []srcRow{row(1, "a & b <c> \"d\" 'e' AB😀\r", "x&y")},
		},
		{
			name:  "CDATA and comments in text",
			sheet: sheetXML(`<row r="1"><c r="A1" t="str"><v><![CDATA[1<2 & 3]]></v></c>` + inl("B1", `a<!-- not text -->b`) + `</row>`),
			want:  []srcRow{row(1, "1<2 & 3", "ab")},
		},
		{
			name:  "rows and cells without references",
			sheet: sheetXML(`<row><c t="inlineStr"><is><t>a</t></is></c><c><v>1</v></c></row><row><c><v>2</v></c></row>`),
			want:  []srcRow{row(1, "a", "1"), row(2, "2")},
		},
		{
			name:  "sparse references fill gaps",
			sheet: sheetXML(`<row r="3"><c r="C3"><v>1</v></c><c r="E3"><v>2</v></c><c><v>3</v></c></row>`),
			want:  []srcRow{row(3, "", "", "1", "", "2", "3")},
		},
		{
			name:  "row numbers with gaps and out of sequence",
			sheet: sheetXML(`<row r="2"><c r="A2"><v>1</v></c></row><row r="9"><c r="A9"><v>2</v></c></row><row r="5"><c r="A5"><v>3</v></c></row><row><c><v>4</v></c></row>`),
			want:  []srcRow{row(2, "1"), row(9, "2"), row(5, "3"), row(6, "4")},
		},
		{
			name:  "self-closing rows and cells",
			sheet: sheetXML(`<row r="1" spans="1:3"/><row r="2"><c r="A2" s="1"/><c r="B2"><v>x</v></c><c r="C2"><v/></c></row>`),
			want:  []srcRow{row(1), row(2, "", "x", "")},
		},
		{
			name: "cell types",
			sheet: sheetXML(`<row r="1"><c r="A1" t="b"><v>1</v></c><c r="B1" t="b"><v>0</v></c><c r="C1" t="e"><v>#N/A</v></c>` +
				`<c r="D1" t="d"><v>2024-10-19T18:53:43Z</v></c><c r="E1" t="str"><f>A1&amp;B1</f><v>10</v></c><c r="F1"><f>1+1</f></c>` +
				`<c r="G1" t="inlineStr"><v>v-only</v></c><c r="H1" t="s"/></row>`),
			want: []srcRow{row(1, "1", "0", "", "2024-10-19T18:53:43Z", "10", "", "v-only", "")},
		},
		{
			name:  "rich text and phonetic runs",
			sheet: sheetXML(`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><r><rPr><b/></rPr><t>in</t></r><r><t xml:space="preserve"> line</t></r></is></c></row>`),
			sst:   sstXML(`<si><r><rPr><rFont val="MS Gothic"/></rPr><t>漢</t></r><r><t>字</t></r><rPh sb="0" eb="2"><t>かんじ</t></rPh><phoneticPr fontId="1"/></si>`),
			want:  []srcRow{row(1, "漢字", "in line")},
		},
		{
			name:  "OOXML escapes",
			sheet: sheetXML(`<row r="1"><c r="A1" t="s"><v>0</v></c>` + inl("B1", `x_x000D__x000A_y_x005F_x0041_z`) + `<c r="C1" t="str"><v>_x0041_</v></c></row>`),
			sst:   sstXML(`a_x000D_b_x0041__xD83D__xDE00_`),
			want:  []srcRow{row(1, "a\rbA😀", "x\r\ny_x0041_z", "_x0041_")},
		},
		{
			name:  "line ends and preserved space",
			sheet: sheetXML("<row r=\"1\">" + inl("A1", "a\r\nb\rc") + `<c r="B1" t="inlineStr"><is><t xml:space="preserve">  sp  </t></is></c></row>`),
			want:  []srcRow{row(1, "a\nb\nc", "  sp  ")},
		},
		{
			name: "byte order mark, comments, instructions and indentation",
			sheet: "\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- writer -->\n<worksheet " + nsMain + ">\n  <sheetData>\n    <row r=\"1\">\n      <!-- a cell -->\n      <c r=\"A1\">\n        <v>1</v>\n      </c>\n" +
				"      <?pi data?>\n      <c r=\"B1\" t=\"inlineStr\">\n        <is>\n          <t>b</t>\n        </is>\n      </c>\n    </row>\n  </sheetData>\n</worksheet>\n",
			want: []srcRow{row(1, "1", "b")},
		},
		{
			name:  "attributes in any order, single quotes and spaces",
			sheet: sheetXML(`<row spans = '1:2' r = '4' ><c t='inlineStr' s="3" r='B4' ><is><t>b</t></is></c></row>`),
			want:  []srcRow{row(4, "", "b")},
		},
		{
			name:  "elements the reader skips",
			sheet: sheetXML(`<row r="1"><c r="A1"><extLst><ext uri="x"><v>no</v></ext></extLst><v>1</v></c><c r="B1"><is><t>no type</t></is><v>2</v></c></row>`),
			want:  []srcRow{row(1, "1", "2")},
		},
		{
			name:  "no sheetData",
			sheet: `<worksheet ` + nsMain + `><dimension ref="A1"/></worksheet>`,
		},
		{
			name:  "empty sheetData",
			sheet: `<worksheet ` + nsMain + `><sheetData/></worksheet>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sourceRowsOf(t, zipParts(t, minimalParts(tt.sheet, tt.sst)))
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestWorkbookParts covers how writers name and relate the parts.
func TestWorkbookParts(t *testing.T) {
	sheet := sheetXML(`<row r="1">` + inl("A1", "ok") + `</row>`)
	want := []srcRow{row(1, "ok")}
	base := func() []part { return minimalParts(sheet, "") }
	set := func(ps []part, name, body string) []part {
		for i := range ps {
			if ps[i].name == name {
				ps[i].body = body
				return ps
			}
		}
		return append(ps, part{name: name, body: body})
	}
	rename := func(ps []part, from, to string) []part {
		for i := range ps {
			if ps[i].name == from {
				ps[i].name = to
			}
		}
		return ps
	}
	relsWith := func(rels string) string {
		return `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` + rels + `</Relationships>`
	}
	wbWith := func(sheets string) string {
		return `<workbook ` + nsMain + ` xmlns:r="` + nsRel + `"><sheets>` + sheets + `</sheets></workbook>`
	}
	tests := []struct {
		name  string
		parts []part
	}{
		{"absolute target", rename(set(base(), "xl/_rels/workbook.xml.rels", relsWith(`<Relationship Id="rId1" Type="`+nsRel+`/worksheet" Target="/xl/worksheets/data.xml"/>`)), "xl/worksheets/sheet1.xml", "xl/worksheets/data.xml")},
		{"relative target climbing", rename(set(base(), "xl/_rels/workbook.xml.rels", relsWith(`<Relationship Id="rId1" Type="`+nsRel+`/worksheet" Target="../xl/sheets/first.xml"/>`)), "xl/worksheets/sheet1.xml", "xl/sheets/first.xml")},
		{"no package relationships", func() []part {
			ps := base()
			return append(ps[:1], ps[2:]...)
		}()},
		{"workbook elsewhere", rename(rename(rename(set(set(base(), "_rels/.rels", relsWith(`<Relationship Id="r" Type="`+nsRel+`/officeDocument" Target="/book/wb.xml"/>`)),
			"xl/_rels/workbook.xml.rels", relsWith(`<Relationship Id="rId1" Type="`+nsRel+`/worksheet" Target="s.xml"/>`)), "xl/workbook.xml", "book/wb.xml"), "xl/worksheets/sheet1.xml", "book/s.xml"), "xl/_rels/workbook.xml.rels", "book/_rels/wb.xml.rels")},
		{"first sheet is a chart sheet", set(set(base(), "xl/workbook.xml", wbWith(`<sheet name="Chart" sheetId="2" r:id="rId9"/><sheet name="Results" sheetId="1" r:id="rId1"/>`)),
			"xl/_rels/workbook.xml.rels", relsWith(`<Relationship Id="rId9" Type="`+nsRel+`/chartsheet" Target="chartsheets/sheet1.xml"/><Relationship Id="rId1" Type="`+nsRel+`/worksheet" Target="worksheets/sheet1.xml"/>`))},
		{"strict OOXML relationship types", set(base(), "xl/_rels/workbook.xml.rels", relsWith(`<Relationship Id="rId1" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/worksheet" Target="worksheets/sheet1.xml"/>`))},
		{"part names differ in case", rename(base(), "xl/worksheets/sheet1.xml", "XL/Worksheets/Sheet1.XML")},
		{"stored, not deflated", func() []part {
			ps := base()
			for i := range ps {
				ps[i].store = true
			}
			return ps
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sourceRowsOf(t, zipParts(t, tt.parts))
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
	t.Run("shared strings found without a relationship", func(t *testing.T) {
		ps := minimalParts(sheetXML(`<row r="1"><c r="A1" t="s"><v>0</v></c></row>`), sstXML("found"))
		ps = set(ps, "xl/_rels/workbook.xml.rels", relsWith(`<Relationship Id="rId1" Type="`+nsRel+`/worksheet" Target="worksheets/sheet1.xml"/>`))
		got, err := sourceRowsOf(t, zipParts(t, ps))
		require.NoError(t, err)
		require.Equal(t, []srcRow{row(1, "found")}, got)
	})
}

// TestScannerChunkBoundaries reads sheet XML through readers that return it
// in small or odd pieces, which puts every token across a buffer boundary
// somewhere, and wants the same rows.
func TestScannerChunkBoundaries(t *testing.T) {
	var b strings.Builder
	b.WriteString(headerRow(1))
	for i := 2; i < 400; i++ {
		n := itoa(i)
		b.WriteString(`<row r="` + n + `" spans="1:8">` + inl("A"+n, "+4179828"+n) + `<c r="B` + n + `" t="s"><v>0</v></c>` +
			inl("C"+n, "https://pps.whatsapp.net/v/t61/"+strings.Repeat("ab", i%40)+"_n.jpg?a=1&amp;b=2") +
			`<c r="D` + n + `"><v>` + itoa(18+i%50) + `</v></c>` + inl("E"+n, "<![CDATA[pet <avatar>]]>") + inl("F"+n, "f&#xE9;male") +
			`<c r="G` + n + `" t="str"><v>black&#10;brown</v></c></row>`)
	}
	xml := sheetXML(b.String())
	sst := newTestSST("yes")
	read := func(r io.Reader) ([]srcRow, error) {
		sh := &sheetReader{sc: newScanner(r, nil), sst: sst, lim: newConfig(nil).limits, rowBytes: DefaultBatchBytes}
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

// TestReaderOnHandMadeFile reads a hand-made result through the whole
// Reader: prefixes, sparse rows and shared strings reach the batch.
func TestReaderOnHandMadeFile(t *testing.T) {
	sheet := `<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>` +
		strings.ReplaceAll(strings.ReplaceAll(headerRow(1), "<", "<x:"), "<x:/", "</x:") +
		`<x:row r="3"><x:c r="A3" t="s"><x:v>0</x:v></x:c><x:c r="B3" t="b"><x:v>1</x:v></x:c><x:c r="D3"><x:v>25</x:v></x:c><x:c r="G3" t="e"><x:v>#N/A</x:v></x:c></x:row>` +
		`</x:sheetData></x:worksheet>`
	data := zipParts(t, minimalParts(sheet, sstXML("+41798284651")))
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
