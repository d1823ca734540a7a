package xlsx

import (
	"bytes"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// sharedStrings is a workbook's shared string table, all text in one buffer.
type sharedStrings struct {
	data []byte
	ends []uint32 // ends[i] is where string i ends in data; it starts at ends[i-1]
}

func (t *sharedStrings) len() int { return len(t.ends) }

// bounds returns where string i is in data.
func (t *sharedStrings) bounds(i int) (start, end int) {
	if i > 0 {
		start = int(t.ends[i-1])
	}
	return start, int(t.ends[i])
}

// loadSharedStrings reads the shared string table of part name whole: cells
// refer to it by index in any order.
func loadSharedStrings(a *archive, name string, lim *Limits, buf []byte) (*sharedStrings, error) {
	e, err := a.open(name)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	t := &sharedStrings{}
	if hint := e.f.UncompressedSize64 / 2; hint > 0 {
		t.data = make([]byte, 0, min(hint, 1<<20))
	}
	sc := newScanner(e, buf)
	fail := func(err error) (*sharedStrings, error) {
		return nil, fmt.Errorf("%s: shared string %d: %w", name, t.len()+1, err)
	}
	for {
		switch k := sc.next(); {
		case k == tagNone:
			if sc.err != nil {
				return fail(sc.err)
			}
			return t, nil
		case sc.is(tagEmpty, "si"):
			if err := t.add(0, lim); err != nil {
				return fail(err)
			}
		case sc.is(tagStart, "si"):
			start := len(t.data)
			limit, cellBound := start+lim.CellBytes, true
			if rem := lim.SharedStringBytes - int64(start); rem < int64(lim.CellBytes) {
				limit, cellBound = start+int(rem), false
			}
			var ok bool
			if t.data, ok = readRichText(sc, t.data, "si", limit); !ok {
				if sc.err != nil {
					return fail(sc.err)
				}
				if cellBound {
					return fail(cellLimit(lim))
				}
				return fail(sstBytesLimit(lim))
			}
			t.data = decodeXEscapes(t.data, start)
			if err := t.add(start, lim); err != nil {
				return fail(err)
			}
		}
	}
}

func (t *sharedStrings) add(start int, lim *Limits) error {
	if len(t.ends) >= lim.SharedStrings {
		return &LimitError{What: "entries of the shared string table", Limit: int64(lim.SharedStrings), Option: "WithMaxSharedStrings"}
	}
	if int64(len(t.data)) > lim.SharedStringBytes {
		return sstBytesLimit(lim)
	}
	t.ends = append(t.ends, uint32(len(t.data)))
	return nil
}

func sstBytesLimit(lim *Limits) error {
	return &LimitError{What: "text of the shared string table", Limit: lim.SharedStringBytes, Unit: " bytes", Option: "WithMaxSharedStringBytes"}
}

func cellLimit(lim *Limits) error {
	return &LimitError{What: "text of a cell", Limit: int64(lim.CellBytes), Unit: " bytes", Option: "WithMaxCellBytes"}
}

// readRichText appends the text of a string item, from just after its start
// tag <end> through its end tag: the <t> directly inside, or those of its
// rich text runs (<r><t>) in order; phonetic runs (<rPh>) are not part of
// the text. It reports false as xmlScanner.text does.
func readRichText(sc *xmlScanner, dst []byte, end string, limit int) ([]byte, bool) {
	depth := 0
	for {
		switch k := sc.next(); k {
		case tagNone:
			sc.malformed("XML ends inside <%s>", end)
			return dst, false
		case tagStart:
			switch string(sc.name) {
			case "t":
				var ok bool
				if dst, ok = sc.text(dst, limit); !ok {
					return dst, false
				}
				if sc.next() != tagEnd || string(sc.name) != "t" {
					sc.malformed("<t> holds markup")
					return dst, false
				}
			case "rPh":
				sc.skipElement()
			default:
				depth++
			}
		case tagEnd:
			if depth == 0 {
				if string(sc.name) != end {
					sc.malformed("</%s> inside <%s>", sc.name, end)
					return dst, false
				}
				return dst, true
			}
			depth--
		}
	}
}

// decodeXEscapes decodes, in place in dst[from:], the _xHHHH_ escapes with
// which OOXML writes characters XML cannot carry (Excel writes a carriage
// return as _x000D_); _x005F_ escapes the underscore of a literal "_xHHHH_".
// Decoding only shrinks the text.
func decodeXEscapes(dst []byte, from int) []byte {
	if bytes.Index(dst[from:], []byte("_x")) < 0 {
		return dst
	}
	w := from
	r := from
	for r < len(dst) {
		u, ok := xEscape(dst[r:])
		if !ok {
			dst[w] = dst[r]
			w, r = w+1, r+1
			continue
		}
		r += 7
		if u == '_' {
			dst[w] = '_'
			w++
			continue
		}
		ch := rune(u)
		if utf16.IsSurrogate(ch) {
			ch = utf8.RuneError
			if u2, ok := xEscape(dst[r:]); ok && u < 0xDC00 {
				if c := utf16.DecodeRune(rune(u), rune(u2)); c != utf8.RuneError {
					ch = c
					r += 7
				}
			}
		}
		w += utf8.EncodeRune(dst[w:], ch)
	}
	return dst[:w]
}

// xEscape parses an _xHHHH_ escape at the start of b.
func xEscape(b []byte) (uint16, bool) {
	if len(b) < 7 || b[0] != '_' || b[1] != 'x' || b[6] != '_' {
		return 0, false
	}
	var u uint16
	for _, c := range b[2:6] {
		switch {
		case c >= '0' && c <= '9':
			u = u<<4 | uint16(c-'0')
		case c >= 'a' && c <= 'f':
			u = u<<4 | uint16(c-'a'+10)
		case c >= 'A' && c <= 'F':
			u = u<<4 | uint16(c-'A'+10)
		default:
			return 0, false
		}
	}
	return u, true
}
