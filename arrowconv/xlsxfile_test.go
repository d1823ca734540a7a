package arrowconv

import (
	"archive/zip"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Hand-made workbooks: the parts a test needs, written into a zip in memory.

const (
	nsMain = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	nsRel  = `http://schemas.openxmlformats.org/officeDocument/2006/relationships`
)

// part is a zip entry of a hand-made workbook, in order.
type part struct {
	name, body string
	store      bool // stored, not deflated
}

// minimalParts returns the parts of a one-sheet workbook whose sheet XML is
// sheet and whose shared string table, when sst is not "", is sst.
func minimalParts(sheet, sst string) []part {
	rels := `<Relationship Id="rId1" Type="` + nsRel + `/worksheet" Target="worksheets/sheet1.xml"/>`
	if sst != "" {
		rels += `<Relationship Id="rId2" Type="` + nsRel + `/sharedStrings" Target="sharedStrings.xml"/>`
	}
	ps := []part{
		{name: "[Content_Types].xml", body: `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`},
		{name: "_rels/.rels", body: `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="` + nsRel + `/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{name: "xl/workbook.xml", body: `<?xml version="1.0"?><workbook ` + nsMain + ` xmlns:r="` + nsRel + `"><sheets><sheet name="Results" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{name: "xl/_rels/workbook.xml.rels", body: `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` + rels + `</Relationships>`},
		{name: "xl/worksheets/sheet1.xml", body: sheet},
	}
	if sst != "" {
		ps = append(ps, part{name: "xl/sharedStrings.xml", body: sst})
	}
	return ps
}

func zipParts(t testing.TB, parts []part) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		h := &zip.FileHeader{Name: p.name, Method: zip.Deflate}
		if p.store {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		require.NoError(t, err)
		_, err = io.WriteString(w, p.body)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// sheetXML wraps rows in a worksheet.
func sheetXML(rows string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<worksheet ` + nsMain + `><dimension ref="A1"/><sheetData>` + rows + `</sheetData><pageMargins left="0.7"/></worksheet>`
}

// sstXML makes a shared string table of plain strings.
func sstXML(items ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><sst ` + nsMain + `>`)
	for _, s := range items {
		if strings.HasPrefix(s, "<") {
			b.WriteString(s) // a whole <si>
			continue
		}
		b.WriteString("<si><t>" + s + "</t></si>")
	}
	b.WriteString("</sst>")
	return b.String()
}

// inl is an inline string cell.
func inl(ref, text string) string {
	return `<c r="` + ref + `" t="inlineStr"><is><t>` + text + `</t></is></c>`
}

// headerRow is a header row of the upstream's columns, as inline strings.
func headerRow(n int) string {
	cols := []string{"Number", "whatsapp", "avatar", "age", "category", "gender", "hair_color", "skin_color"}
	var b strings.Builder
	b.WriteString(`<row r="` + itoa(n) + `">`)
	for i, c := range cols {
		b.WriteString(inl(columnName(i)+itoa(n), c))
	}
	b.WriteString(`</row>`)
	return b.String()
}

func itoa(n int) string {
	return string(appendInt(nil, n))
}

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// sourceRowsOf reads a hand-made workbook with the reader's parser.
func sourceRowsOf(t *testing.T, data []byte, opts ...Option) ([]srcRow, error) {
	t.Helper()
	cfg := newConfig(opts)
	src, err := newXLSXSource(bytes.NewReader(data), int64(len(data)), cfg.limits, cfg.batchBytes)
	if err != nil {
		return nil, err
	}
	defer src.close()
	var rows []srcRow
	for src.next() {
		n, cells := src.row()
		r := srcRow{num: n, cells: []string{}}
		for _, c := range cells {
			r.cells = append(r.cells, string(c))
		}
		rows = append(rows, r)
	}
	return rows, src.err()
}
