package xlsxtest

import (
	"archive/zip"
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Namespaces of hand-made parts.
const (
	NSMain = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	NSRel  = `http://schemas.openxmlformats.org/officeDocument/2006/relationships`
)

// Part is a zip entry of a hand-made workbook, in order.
type Part struct {
	Name, Body string
	Store      bool // stored, not deflated
}

// MinimalParts returns the parts of a one-sheet workbook whose sheet XML is
// sheet and whose shared string table, when sst is not "", is sst.
func MinimalParts(sheet, sst string) []Part {
	rels := `<Relationship Id="rId1" Type="` + NSRel + `/worksheet" Target="worksheets/sheet1.xml"/>`
	if sst != "" {
		rels += `<Relationship Id="rId2" Type="` + NSRel + `/sharedStrings" Target="sharedStrings.xml"/>`
	}
	ps := []Part{
		{Name: "[Content_Types].xml", Body: `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`},
		{Name: "_rels/.rels", Body: `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="` + NSRel + `/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{Name: "xl/workbook.xml", Body: `<?xml version="1.0"?><workbook ` + NSMain + ` xmlns:r="` + NSRel + `"><sheets><sheet name="Results" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{Name: "xl/_rels/workbook.xml.rels", Body: `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` + rels + `</Relationships>`},
		{Name: "xl/worksheets/sheet1.xml", Body: sheet},
	}
	if sst != "" {
		ps = append(ps, Part{Name: "xl/sharedStrings.xml", Body: sst})
	}
	return ps
}

// Zip writes parts into a zip archive in memory.
func Zip(t testing.TB, parts []Part) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		h := &zip.FileHeader{Name: p.Name, Method: zip.Deflate}
		if p.Store {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		require.NoError(t, err)
		_, err = io.WriteString(w, p.Body)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// SheetXML wraps rows in a worksheet.
func SheetXML(rows string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<worksheet ` + NSMain + `><dimension ref="A1"/><sheetData>` + rows + `</sheetData><pageMargins left="0.7"/></worksheet>`
}

// SSTXML makes a shared string table of plain strings; an item that starts
// with "<" is a whole <si>.
func SSTXML(items ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><sst ` + NSMain + `>`)
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

// Inline is an inline string cell.
func Inline(ref, text string) string {
	return `<c r="` + ref + `" t="inlineStr"><is><t>` + text + `</t></is></c>`
}

// HeaderRow is row n: a header row of the upstream's columns, as inline strings.
func HeaderRow(n int) string {
	cols := []string{"Number", "whatsapp", "avatar", "age", "category", "gender", "hair_color", "skin_color"} // the upstream's columns, skin_color included so the drop rule is exercised
	var b strings.Builder
	b.WriteString(`<row r="` + strconv.Itoa(n) + `">`)
	for i, c := range cols {
		b.WriteString(Inline(string(rune('A'+i))+strconv.Itoa(n), c))
	}
	b.WriteString(`</row>`)
	return b.String()
}

// ResultSheet is a valid result sheet: a header and n rows, then extra.
func ResultSheet(n int, extra string) string {
	var b strings.Builder
	b.WriteString(HeaderRow(1))
	for i := 2; i <= n+1; i++ {
		s := strconv.Itoa(i)
		b.WriteString(`<row r="` + s + `">` + Inline("A"+s, "+4179828465"+strconv.Itoa(i%10)) + Inline("B"+s, "yes") + Inline("D"+s, "25") + `</row>`)
	}
	b.WriteString(extra)
	return SheetXML(b.String())
}
