package xlsx

import (
	"fmt"
)

// cellType is a cell's t attribute.
type cellType uint8

const (
	typeNumber cellType = iota // n, or no t: the value as written
	typeShared                 // s: an index into the shared string table
	typeInline                 // inlineStr: the text of <is>
	typeError                  // e: a formula error like #N/A, read as empty
	typeOther                  // str, b, d and others: the value as written
)

// span locates a cell's text in the arena or the shared string table.
type span struct {
	start, end int
	shared     bool
}

const (
	stateBefore = iota // before <sheetData>
	stateRows          // inside it
	stateDone
)

// sheetReader turns worksheet XML into rows: each cell's text appended to
// an arena, located by a span. Values are the cell text as written: numbers
// as their XML text, booleans as 1 or 0, shared and inline strings
// resolved; a formula error (t="e") reads as empty, since "#N/A" is no
// avatar, category or age. Empty cells between the ones a row lists, by
// their r= references, come out as empty spans; row numbers are the rows'
// r= attributes, or one past the last row's. Text keeps its white space
// whatever xml:space says (readers trim values). Not safe for concurrent
// use.
type sheetReader struct {
	sc        *xmlScanner
	sst       *sharedStrings
	lim       Limits
	name      string // sheet name, for errors
	rowBytes  int    // most cell text in one row
	state     int
	rowNum    int
	rowCount  int
	arena     []byte
	spans     []span
	rowStart  int // the current row's first byte in arena
	rowShared int // bytes of shared strings the current row refers to
	spanStart int // and its first span
	e         error
}

// fail records the first error, at the current row and 0-based column col
// (-1 for none).
func (s *sheetReader) fail(col int, err error) bool {
	if s.e == nil {
		pe := &ParseError{Sheet: s.name, Err: err}
		if s.state == stateRows && s.rowNum > 0 {
			pe.Row = s.rowNum
			if col >= 0 {
				pe.Column = col + 1
			}
		}
		s.e = pe
	}
	s.state = stateDone
	return false
}

func (s *sheetReader) scanErr(col int) bool {
	if s.sc.err == nil {
		s.sc.malformed("XML ends early")
	}
	return s.fail(col, s.sc.err)
}

// nextRow reads the next row into the arena and spans; false at the end of
// the rows or on error (s.e).
func (s *sheetReader) nextRow() bool {
	sc := s.sc
	for s.state != stateDone && s.e == nil {
		k := sc.next()
		if k == tagNone {
			if sc.err != nil || s.state == stateRows {
				return s.scanErr(-1)
			}
			s.state = stateDone // a sheet without sheetData has no rows
			return false
		}
		switch s.state {
		case stateBefore:
			if k != tagEnd && string(sc.name) == "sheetData" {
				s.state = stateRows
				if k == tagEmpty {
					return s.finish()
				}
			}
		case stateRows:
			switch {
			case k != tagEnd && string(sc.name) == "row":
				return s.readRow(k == tagEmpty)
			case k == tagEnd && string(sc.name) == "sheetData":
				return s.finish()
			case k == tagStart:
				sc.skipElement()
			case k == tagEnd:
				sc.malformed("unexpected </%s> in <sheetData>", sc.name)
				return s.scanErr(-1)
			}
		}
	}
	return false
}

// finish reads the rest of the sheet, so that the entry's checksum is
// verified, and ends the rows.
func (s *sheetReader) finish() bool {
	s.state = stateDone
	s.sc.skipRest()
	if s.sc.err != nil {
		return s.fail(-1, s.sc.err)
	}
	return false
}

func (s *sheetReader) readRow(empty bool) bool {
	sc := s.sc
	if sc.attrsOverflow() {
		return s.fail(-1, fmt.Errorf("%w: more than %d attributes in <row>", ErrMalformed, len(sc.attrAt)))
	}
	if v, ok := sc.attr("r"); ok {
		n, ok := parseRowNum(v, s.lim.Rows)
		if !ok {
			return s.fail(-1, fmt.Errorf("%w: bad row number %q", ErrMalformed, v))
		}
		s.rowNum = n
	} else {
		s.rowNum++
	}
	s.rowCount++
	if s.rowNum > s.lim.Rows || s.rowCount > s.lim.Rows {
		s.rowNum = 0 // the error is about the sheet, not a row
		return s.fail(-1, &LimitError{What: "rows of the sheet", Limit: int64(s.lim.Rows), Option: "WithMaxRows"})
	}
	s.rowStart, s.spanStart, s.rowShared = len(s.arena), len(s.spans), 0
	for !empty {
		sc.ensure(cellLookahead)
		if col, typ, emptyCell, ok := s.fastCell(); ok {
			if !s.readCellBody(col, typ, emptyCell) {
				return false
			}
			continue
		}
		if sc.consume("</row>") {
			break
		}
		k := sc.next()
		switch {
		case k == tagNone:
			return s.scanErr(-1)
		case k != tagEnd && string(sc.name) == "c":
			if !s.readCell(k == tagEmpty) {
				return false
			}
		case k == tagEnd && string(sc.name) == "row":
			empty = true
		case k == tagStart:
			sc.skipElement()
		case k == tagEnd:
			sc.malformed("unexpected </%s> in <row>", sc.name)
			return s.scanErr(-1)
		}
	}
	return true
}

// cellLookahead is the buffered input fastCell wants: a cell's start tag
// as writers write it.
const cellLookahead = 64

// fastCell parses a cell's start tag in the common form, <c r="B2" s="1"
// t="s"> with double quotes, single spaces and no references, straight from
// the buffer. ok is false, and nothing consumed, for anything else, which
// the general path then reads (and reports, if wrong).
func (s *sheetReader) fastCell() (col int, typ cellType, empty, ok bool) {
	sc := s.sc
	b := sc.buf[sc.pos:sc.end]
	if len(b) < 4 || b[0] != '<' || b[1] != 'c' || b[2] != ' ' {
		return 0, 0, false, false
	}
	col, typ = len(s.spans)-s.spanStart, typeNumber
	i := 3
	for i < len(b) {
		switch b[i] {
		case '>':
			sc.pos += i + 1
			return col, typ, false, true
		case '/':
			if i+1 < len(b) && b[i+1] == '>' {
				sc.pos += i + 2
				return col, typ, true, true
			}
			return 0, 0, false, false
		case ' ':
			i++
			continue
		}
		k0 := i
		for i < len(b) && b[i] != '=' && b[i] != '"' && b[i] != '>' && !isSpace(b[i]) {
			i++
		}
		if i+1 >= len(b) || b[i] != '=' || b[i+1] != '"' {
			return 0, 0, false, false
		}
		key := b[k0:i]
		i += 2
		v0 := i
		for i < len(b) && b[i] != '"' && b[i] != '&' && b[i] != '<' {
			i++
		}
		if i >= len(b) || b[i] != '"' {
			return 0, 0, false, false
		}
		val := b[v0:i]
		i++
		switch string(key) {
		case "r":
			c, ok := parseColumn(val, s.lim.Columns)
			if !ok {
				return 0, 0, false, false
			}
			col = c
		case "t":
			typ = parseCellType(val)
		}
	}
	return 0, 0, false, false
}

func (s *sheetReader) readCell(empty bool) bool {
	sc := s.sc
	col := len(s.spans) - s.spanStart
	typ := typeNumber
	if sc.attrsOverflow() {
		// The attributes past those kept could hold the r= that places
		// the cell: refuse rather than put it in the wrong column.
		return s.fail(col, fmt.Errorf("%w: more than %d attributes in <c>", ErrMalformed, len(sc.attrAt)))
	}
	for i := range sc.numAttrs() {
		key, v := sc.attrAtIndex(i)
		ok := false
		switch string(key) {
		case "r":
			if v, ok = unescapeAttr(v); !ok {
				return s.fail(col, fmt.Errorf("%w: bad cell reference", ErrMalformed))
			}
			c, ok := parseColumn(v, s.lim.Columns)
			if !ok {
				return s.fail(col, fmt.Errorf("%w: bad cell reference %q", ErrMalformed, v))
			}
			col = c
		case "t":
			if v, ok = unescapeAttr(v); !ok {
				return s.fail(col, fmt.Errorf("%w: bad cell type", ErrMalformed))
			}
			typ = parseCellType(v)
		}
	}
	return s.readCellBody(col, typ, empty)
}

// readCellBody reads a cell after its start tag: col is its 0-based column.
func (s *sheetReader) readCellBody(col int, typ cellType, empty bool) bool {
	sc := s.sc
	if col >= s.lim.Columns {
		return s.fail(-1, &LimitError{What: "columns of a row", Limit: int64(s.lim.Columns), Option: "WithMaxColumns"})
	}
	if n := len(s.spans) - s.spanStart; col < n {
		return s.fail(col, fmt.Errorf("%w: cell comes after column %s of the same row", ErrMalformed, ColumnName(n-1)))
	}
	for len(s.spans)-s.spanStart < col {
		s.spans = append(s.spans, span{})
	}
	start := len(s.arena)
	limit := start + s.lim.CellBytes
	if rem := s.rowBytes - (start - s.rowStart) - s.rowShared; rem < s.lim.CellBytes {
		limit = start + rem
	}
	v := span{start: -1}
	is := span{start: -1}
	if !empty {
		// Fast paths for what writers emit, <v>…</v></c> and
		// <is><t>…</t></is></c>, matched as literal bytes; anything else
		// takes the general loop below.
		var ok bool
		sc.ensure(len("<is><t>"))
		switch {
		case sc.consume("<v>"):
			v.start = len(s.arena)
			if s.arena, ok = sc.text(s.arena, limit); !ok {
				return s.textErr(col, start)
			}
			v.end = len(s.arena)
			sc.ensure(len("</v></c>"))
			if !sc.consume("</v>") && !s.endOf("v") {
				return s.scanErr(col)
			}
		case sc.consume("<is><t>"):
			is.start = len(s.arena)
			if s.arena, ok = sc.text(s.arena, limit); !ok {
				return s.textErr(col, start)
			}
			sc.ensure(len("</t></is></c>"))
			if !sc.consume("</t></is>") {
				if !s.endOf("t") {
					return s.scanErr(col)
				}
				if s.arena, ok = readRichText(sc, s.arena, "is", limit); !ok {
					return s.textErr(col, start)
				}
			}
			s.arena = decodeXEscapes(s.arena, is.start)
			is.end = len(s.arena)
		}
		sc.ensure(len("</c>"))
		empty = sc.consume("</c>")
	}
	for !empty {
		k := sc.next()
		switch {
		case k == tagNone:
			return s.scanErr(col)
		case sc.is(tagStart, "v"):
			v.start = len(s.arena)
			var ok bool
			if s.arena, ok = sc.text(s.arena, limit); !ok {
				return s.textErr(col, start)
			}
			v.end = len(s.arena)
			if !s.endOf("v") {
				return s.scanErr(col)
			}
		case sc.is(tagStart, "is"):
			is.start = len(s.arena)
			var ok bool
			if s.arena, ok = readRichText(sc, s.arena, "is", limit); !ok {
				return s.textErr(col, start)
			}
			s.arena = decodeXEscapes(s.arena, is.start)
			is.end = len(s.arena)
		case k == tagStart:
			sc.skipElement() // <f>, <extLst>
		case k == tagEnd && string(sc.name) == "c":
			empty = true
		case k == tagEnd:
			sc.malformed("unexpected </%s> in <c>", sc.name)
			return s.scanErr(col)
		}
	}
	var out span
	switch typ {
	case typeShared:
		if v.start >= 0 {
			i, ok := parseIndex(s.arena[v.start:v.end])
			if !ok || i >= s.sst.len() {
				return s.fail(col, fmt.Errorf("%w: shared string index %q out of range (the table has %d)", ErrMalformed, s.arena[v.start:v.end], s.sst.len()))
			}
			start, end := s.sst.bounds(i)
			out = span{start: start, end: end, shared: true}
			// A shared string is text of the row like any other: it counts
			// against the same limits as inline text.
			if end-start > s.lim.CellBytes {
				return s.fail(col, cellLimit(&s.lim))
			}
			if s.rowShared += end - start; len(s.arena)-s.rowStart+s.rowShared > s.rowBytes {
				return s.fail(col, &LimitError{What: "cell text of a row", Limit: int64(s.rowBytes), Unit: " bytes", Option: "WithBatchBytes"})
			}
		}
		s.arena = s.arena[:start]
	case typeInline:
		if is.start >= 0 {
			out = is
		} else if v.start >= 0 {
			out = v
		}
	case typeError:
		s.arena = s.arena[:start]
	default:
		if v.start >= 0 {
			out = v
		}
	}
	s.spans = append(s.spans, out)
	return true
}

// endOf reads the end tag of a text element, which holds no markup.
func (s *sheetReader) endOf(name string) bool {
	if s.sc.next() != tagEnd || string(s.sc.name) != name {
		s.sc.malformed("<%s> holds markup", name)
		return false
	}
	return true
}

// textErr reports why a cell's text could not be read: an error, or a limit.
func (s *sheetReader) textErr(col, start int) bool {
	if s.sc.err != nil {
		return s.fail(col, s.sc.err)
	}
	if s.lim.CellBytes <= s.rowBytes-(start-s.rowStart)-s.rowShared {
		return s.fail(col, cellLimit(&s.lim))
	}
	return s.fail(col, &LimitError{What: "cell text of a row", Limit: int64(s.rowBytes), Unit: " bytes", Option: "WithBatchBytes"})
}

func parseCellType(v []byte) cellType {
	switch string(v) {
	case "", "n":
		return typeNumber
	case "s":
		return typeShared
	case "inlineStr":
		return typeInline
	case "e":
		return typeError
	}
	return typeOther
}

// parseColumn reads the column of a cell reference like "AB12" as a 0-based
// index; it stops counting past limit, so any length of letters is safe.
func parseColumn(ref []byte, limit int) (int, bool) {
	col, i := 0, 0
	for ; i < len(ref); i++ {
		c := ref[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c -= 'A'
		case c >= 'a' && c <= 'z':
			c -= 'a'
		default:
			goto digits
		}
		if col <= limit {
			col = col*26 + int(c) + 1
		}
	}
digits:
	if i == 0 {
		return 0, false
	}
	for _, c := range ref[i:] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	return col - 1, true
}

// parseRowNum reads a row's r attribute; numbers past limit read as limit+1.
func parseRowNum(v []byte, limit int) (int, bool) {
	n, ok := parseIndex(v)
	if !ok || n == 0 {
		return 0, false
	}
	return min(n, limit+1), true
}

// parseIndex reads a non-negative decimal, spaces around it allowed; values
// past 1<<40 saturate there.
func parseIndex(v []byte) (int, bool) {
	v = trimSpace(v)
	if len(v) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < 1<<40 {
			n = n*10 + int(c-'0')
		}
	}
	return n, true
}
