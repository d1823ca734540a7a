package xlsx

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
)

// workbookParts are the parts the reader needs, resolved through the
// package's relationships rather than assumed: writers name sheets freely
// and the first sheet is not always sheet1.xml.
type workbookParts struct {
	sheetName     string // the first worksheet's name
	sheet         string // its part
	sharedStrings string // "" when the workbook has none
}

const defaultWorkbook = "xl/workbook.xml"

// findParts resolves the first worksheet and the shared string table.
func findParts(a *archive) (workbookParts, error) {
	var p workbookParts
	wb := defaultWorkbook
	if a.has("_rels/.rels") {
		rels, err := readRels(a, "_rels/.rels", "")
		if err != nil {
			return p, err
		}
		for _, r := range rels {
			if hasType(r.typ, "officeDocument") {
				wb = r.target
				break
			}
		}
	}
	if !a.has(wb) {
		return p, fmt.Errorf("%w: no workbook part %s: not an xlsx file", ErrMalformed, wb)
	}
	relsName := path.Join(path.Dir(wb), "_rels", path.Base(wb)+".rels")
	var rels map[string]rel
	if a.has(relsName) {
		var err error
		if rels, err = readRels(a, relsName, wb); err != nil {
			return p, err
		}
	}
	sheets, err := readSheets(a, wb)
	if err != nil {
		return p, err
	}
	for _, s := range sheets {
		r, ok := rels[s.id]
		if ok && hasType(r.typ, "worksheet") {
			p.sheetName, p.sheet = s.name, r.target
			break
		}
	}
	if p.sheet == "" {
		return p, ErrNoSheet
	}
	if !a.has(p.sheet) {
		return p, fmt.Errorf("%w: sheet %q: %w: no part %s", ErrNoSheet, p.sheetName, ErrMalformed, p.sheet)
	}
	for _, r := range rels {
		if hasType(r.typ, "sharedStrings") && a.has(r.target) {
			p.sharedStrings = r.target
		}
	}
	if p.sharedStrings == "" && a.has("xl/sharedStrings.xml") {
		p.sharedStrings = "xl/sharedStrings.xml"
	}
	return p, nil
}

// hasType reports whether a relationship type URI names kind; transitional
// and strict OOXML use different URI prefixes.
func hasType(typ, kind string) bool {
	return strings.HasSuffix(typ, "/"+kind)
}

type rel struct {
	typ, target string
}

// readRels reads a relationships part; targets are resolved against source,
// the part the relationships belong to ("" for the package).
func readRels(a *archive, name, source string) (map[string]rel, error) {
	b, err := a.readPart(name)
	if err != nil {
		return nil, err
	}
	rels := map[string]rel{}
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return rels, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, name, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Relationship" {
			continue
		}
		var id, typ, target, mode string
		for _, at := range se.Attr {
			switch at.Name.Local {
			case "Id":
				id = at.Value
			case "Type":
				typ = at.Value
			case "Target":
				target = at.Value
			case "TargetMode":
				mode = at.Value
			}
		}
		if id == "" || strings.EqualFold(mode, "External") {
			continue
		}
		if _, dup := rels[id]; !dup {
			rels[id] = rel{typ: typ, target: resolveTarget(source, target)}
		}
	}
}

// resolveTarget resolves a relationship target against its source part:
// "worksheets/sheet1.xml" from xl/workbook.xml is xl/worksheets/sheet1.xml,
// "/xl/worksheets/sheet1.xml" is absolute, and ".." may climb to the root.
func resolveTarget(source, target string) string {
	target = strings.ReplaceAll(target, `\`, "/")
	if strings.Contains(target, "%") {
		if t, err := url.PathUnescape(target); err == nil {
			target = t
		}
	}
	if !strings.HasPrefix(target, "/") {
		target = path.Join("/", path.Dir("/"+source), target)
	}
	return strings.TrimPrefix(path.Clean(target), "/")
}

type sheetRef struct {
	name, id string
}

// readSheets lists the workbook's sheets in tab order.
func readSheets(a *archive, wb string) ([]sheetRef, error) {
	b, err := a.readPart(wb)
	if err != nil {
		return nil, err
	}
	var sheets []sheetRef
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return sheets, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, wb, err)
		}
		switch se := tok.(type) {
		case xml.StartElement:
			if se.Name.Local != "sheet" {
				continue
			}
			var s sheetRef
			for _, at := range se.Attr {
				switch {
				case at.Name.Local == "name" && at.Name.Space == "":
					s.name = at.Value
				case at.Name.Local == "id" && at.Name.Space != "":
					s.id = at.Value // r:id, in the relationships namespace
				}
			}
			sheets = append(sheets, s)
		case xml.EndElement:
			if se.Name.Local == "sheets" {
				return sheets, nil
			}
		}
	}
}
