package xlsx

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// tagKind is what xmlScanner.next found.
type tagKind uint8

const (
	tagNone  tagKind = iota // end of input, or an error (see xmlScanner.err)
	tagStart                // <name ...>
	tagEnd                  // </name>
	tagEmpty                // <name .../>
)

const (
	scanBufSize = 64 << 10
	maxTagBytes = 1 << 20 // one tag or reference must fit in the buffer
	maxRefBytes = 32      // "&#x0010FFFF;" with room for leading zeros
)

// xmlScanner is a forward-only scanner of the XML that spreadsheet writers
// produce, over one reused buffer: it yields tags with their local name and
// raw attributes, and appends character data to a caller's buffer, so that a
// sheet is read without an allocation per element. It knows no DTD (files
// with one are refused, which also rules out entity expansion attacks),
// skips comments and processing instructions, and keeps CDATA as text.
// Every call consumes input or ends the scan, so it cannot loop forever.
type xmlScanner struct {
	r    io.Reader
	buf  []byte
	pos  int
	end  int
	eof  bool
	err  error   // sticky: a read error or malformed XML
	kind tagKind // of the current tag
	// name is the current tag's local name, valid until next. Names lose
	// their namespace prefix: some writers qualify every element (<x:c>)
	// rather than declare a default namespace.
	name   []byte
	tag    []byte       // the current start tag, valid until next
	attrAt [16]attrSpan // its attributes; offsets, so storing them needs no write barrier
	nattr  int
	begun  bool
}

// attrSpan locates an attribute's key and value in the tag.
type attrSpan struct {
	k0, k1, v0, v1 int32
}

func newScanner(r io.Reader, buf []byte) *xmlScanner {
	if cap(buf) < scanBufSize {
		buf = make([]byte, scanBufSize)
	}
	return &xmlScanner{r: r, buf: buf[:cap(buf)]}
}

func (s *xmlScanner) malformed(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
}

// fill reads more input after buf[pos:end], moving that to the front; it
// reports whether bytes were added.
func (s *xmlScanner) fill() bool {
	if s.eof || s.err != nil {
		return false
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.pos, s.end = 0, n
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= maxTagBytes {
			s.malformed("XML token longer than %d bytes", maxTagBytes)
			return false
		}
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for range 100 {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err == io.EOF {
			s.eof = true
		} else if err != nil {
			s.err = err
		}
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
	s.err = io.ErrNoProgress
	return false
}

// ensure makes n bytes from pos available, if the input has them.
func (s *xmlScanner) ensure(n int) bool {
	for s.end-s.pos < n {
		if !s.fill() {
			return false
		}
	}
	return true
}

// hasPrefix reports whether the input at pos starts with p.
func (s *xmlScanner) hasPrefix(p string) bool {
	return s.ensure(len(p)) && string(s.buf[s.pos:s.pos+len(p)]) == p
}

// consume skips lit if the buffer at pos starts with it. It does not read:
// callers ensure the bytes first (ensure), which keeps it small enough to
// inline, so that comparing with a constant compiles to a few loads.
func (s *xmlScanner) consume(lit string) bool {
	if p := s.pos + len(lit); p <= s.end && string(s.buf[s.pos:p]) == lit {
		s.pos = p
		return true
	}
	return false
}

// begin skips a UTF-8 byte order mark and refuses UTF-16, which no writer
// of result files uses.
func (s *xmlScanner) begin() {
	s.begun = true
	s.ensure(3)
	b := s.buf[s.pos:s.end]
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		s.pos += 3
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}), bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		s.malformed("UTF-16 XML is not supported")
	}
}

// next advances to the next tag, skipping the text before it.
func (s *xmlScanner) next() tagKind {
	if !s.begun {
		s.begin()
	}
	s.kind = tagNone
	for s.err == nil {
		// Tags in sheet XML mostly follow each other without text between.
		if s.pos >= s.end || s.buf[s.pos] != '<' {
			i := bytes.IndexByte(s.buf[s.pos:s.end], '<')
			if i < 0 {
				s.pos = s.end
				if !s.fill() {
					return tagNone
				}
				continue
			}
			s.pos += i
		}
		if s.pos+1 >= s.end && !s.ensure(2) {
			s.malformed("XML ends inside a tag")
			return tagNone
		}
		switch s.buf[s.pos+1] {
		case '/':
			return s.endTag()
		case '?':
			s.pos += 2
			s.skipPast("?>")
		case '!':
			s.bang()
		default:
			return s.startTag()
		}
	}
	return tagNone
}

// bang skips a comment or CDATA section outside text, and refuses a DTD.
func (s *xmlScanner) bang() {
	switch {
	case s.hasPrefix("<!--"):
		s.pos += 4
		s.skipPast("-->")
	case s.hasPrefix("<![CDATA["):
		s.pos += 9
		s.skipPast("]]>")
	default:
		s.malformed("DTD or unknown markup declaration (<!) is not allowed")
	}
}

// skipPast consumes input through the next occurrence of seq.
func (s *xmlScanner) skipPast(seq string) {
	for {
		if i := bytes.Index(s.buf[s.pos:s.end], []byte(seq)); i >= 0 {
			s.pos += i + len(seq)
			return
		}
		if keep := len(seq) - 1; s.end-s.pos > keep {
			s.pos = s.end - keep
		}
		if !s.fill() {
			s.malformed("XML ends before %q", seq)
			return
		}
	}
}

func (s *xmlScanner) startTag() tagKind {
	for {
		if k, done := s.parseStart(s.buf[s.pos:s.end]); done {
			return k
		}
		if s.err != nil {
			return tagNone
		}
		if !s.fill() {
			s.malformed("XML ends inside a tag")
			return tagNone
		}
	}
}

// parseStart parses the start tag at the front of b in one pass, name and
// attributes; done is false when b ends before the tag does.
func (s *xmlScanner) parseStart(b []byte) (k tagKind, done bool) {
	i, colon := 1, 0
	for i < len(b) && !isSpace(b[i]) && b[i] != '>' && b[i] != '/' {
		if b[i] == ':' {
			colon = i
		}
		i++
	}
	name := b[colon+1 : i]
	s.nattr, s.tag = 0, b
	for {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i >= len(b) {
			return tagNone, false
		}
		switch b[i] {
		case '>':
			return s.setTag(name, tagStart, i+1), true
		case '/':
			if i+1 >= len(b) {
				return tagNone, false
			}
			if b[i+1] != '>' {
				s.malformed("'/' inside <%s>", name)
				return tagNone, true
			}
			return s.setTag(name, tagEmpty, i+2), true
		}
		k0 := i
		for i < len(b) && b[i] != '=' && !isSpace(b[i]) && b[i] != '>' && b[i] != '/' {
			i++
		}
		key := b[k0:i]
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i+1 >= len(b) {
			return tagNone, false
		}
		if b[i] != '=' || len(key) == 0 {
			s.malformed("malformed attribute in <%s>", name)
			return tagNone, true
		}
		i++
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i >= len(b) {
			return tagNone, false
		}
		q := b[i]
		if q != '"' && q != '\'' {
			s.malformed("unquoted attribute in <%s>", name)
			return tagNone, true
		}
		i++
		v0 := i
		for i < len(b) && b[i] != q {
			if b[i] == '<' {
				s.malformed("'<' in an attribute of <%s>", name)
				return tagNone, true
			}
			i++
		}
		if i >= len(b) {
			return tagNone, false
		}
		if s.nattr < len(s.attrAt) {
			s.attrAt[s.nattr] = attrSpan{int32(k0), int32(k0 + len(key)), int32(v0), int32(i)}
		}
		s.nattr++
		i++
	}
}

func (s *xmlScanner) setTag(name []byte, k tagKind, n int) tagKind {
	s.pos += n
	s.kind, s.name = k, name
	if len(name) == 0 {
		s.malformed("tag without a name")
		s.kind = tagNone
	}
	return s.kind
}

func (s *xmlScanner) endTag() tagKind {
	for {
		b := s.buf[s.pos:s.end]
		j, colon := 2, 1
		for j < len(b) && b[j] != '>' {
			if b[j] == ':' {
				colon = j
			}
			j++
		}
		if j < len(b) {
			s.pos += j + 1
			s.name, s.nattr = trimSpace(b[colon+1:j]), 0
			s.kind = tagEnd
			if len(s.name) == 0 {
				s.malformed("end tag without a name")
				s.kind = tagNone
			}
			return s.kind
		}
		if !s.fill() {
			s.malformed("XML ends inside a tag")
			return tagNone
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// trimSpace trims XML white space from both ends of b.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// is reports whether the current tag is kind k named name.
func (s *xmlScanner) is(k tagKind, name string) bool {
	return s.kind == k && string(s.name) == name
}

// skipElement consumes input through the end of the current start tag's
// element.
func (s *xmlScanner) skipElement() {
	depth := 1
	for depth > 0 {
		switch s.next() {
		case tagNone:
			s.malformed("XML ends inside <%s>", s.name)
			return
		case tagStart:
			depth++
		case tagEnd:
			depth--
		}
	}
}

// skipRest consumes the rest of the input, so that the entry's size and
// checksum are verified.
func (s *xmlScanner) skipRest() {
	for s.err == nil {
		s.pos = s.end
		if !s.fill() {
			return
		}
	}
}

// textStop marks the bytes that interrupt a run of plain ASCII character
// data: markup, references, carriage returns and the start of a multi-byte
// UTF-8 sequence, which is validated.
var textStop = func() (t [256]bool) {
	t['<'], t['&'], t['\r'] = true, true, true
	for c := utf8.RuneSelf; c < 256; c++ {
		t[c] = true
	}
	return t
}()

// text appends the character data from pos up to the next tag to dst,
// resolving references, keeping CDATA and dropping comments, with line ends
// normalised to "\n" as XML requires; what it appends is valid UTF-8. It reports false when dst would grow
// past limit bytes (s.err is nil then) or on error (s.err is set).
func (s *xmlScanner) text(dst []byte, limit int) ([]byte, bool) {
	for s.err == nil {
		b := s.buf[s.pos:s.end]
		i := 0
		for i < len(b) && !textStop[b[i]] {
			i++
		}
		if len(dst)+i > limit {
			return dst, false
		}
		dst = append(dst, b[:i]...)
		s.pos += i
		if i == len(b) {
			if !s.fill() {
				s.malformed("XML ends inside text")
			}
			continue
		}
		switch b[i] {
		case '<':
			if s.pos+1 < s.end && s.buf[s.pos+1] != '!' && s.buf[s.pos+1] != '?' {
				return dst, true
			}
			switch {
			case s.hasPrefix("<!--"):
				s.pos += 4
				s.skipPast("-->")
			case s.hasPrefix("<?"):
				// A processing instruction inside text is skipped like a
				// comment; the text goes on after it.
				s.pos += 2
				s.skipPast("?>")
			case s.hasPrefix("<![CDATA["):
				s.pos += 9
				var ok bool
				if dst, ok = s.cdata(dst, limit); !ok {
					return dst, false
				}
			default:
				return dst, true
			}
		case '&':
			dst = s.ref(dst)
			if len(dst) > limit {
				return dst, false
			}
		case '\r':
			s.pos++
			if s.ensure(1) && s.buf[s.pos] == '\n' {
				s.pos++
			}
			dst = append(dst, '\n')
		default:
			s.ensure(utf8.UTFMax)
			r, n := utf8.DecodeRune(s.buf[s.pos:s.end])
			if r == utf8.RuneError && n <= 1 {
				s.malformed("invalid UTF-8")
				return dst, false
			}
			if len(dst)+n > limit {
				return dst, false
			}
			dst = append(dst, s.buf[s.pos:s.pos+n]...)
			s.pos += n
		}
	}
	return dst, false
}

// cdata appends a CDATA section's content, from pos, through "]]>".
func (s *xmlScanner) cdata(dst []byte, limit int) ([]byte, bool) {
	from := len(dst)
	for {
		b := s.buf[s.pos:s.end]
		i := bytes.Index(b, []byte("]]>"))
		n := i
		if i < 0 {
			n = max(0, len(b)-2)
		}
		if len(dst)+n > limit {
			return dst, false
		}
		dst = append(dst, b[:n]...)
		s.pos += n
		if i >= 0 {
			s.pos += 3
			if !utf8.Valid(dst[from:]) {
				s.malformed("invalid UTF-8")
				return dst, false
			}
			return normaliseCR(dst, from), true
		}
		if !s.fill() {
			s.malformed("XML ends inside CDATA")
			return dst, false
		}
	}
}

// normaliseCR turns "\r\n" and lone "\r" into "\n" in dst[from:].
func normaliseCR(dst []byte, from int) []byte {
	if bytes.IndexByte(dst[from:], '\r') < 0 {
		return dst
	}
	w := from
	for r := from; r < len(dst); r++ {
		c := dst[r]
		if c == '\r' {
			c = '\n'
			if r+1 < len(dst) && dst[r+1] == '\n' {
				r++
			}
		}
		dst[w] = c
		w++
	}
	return dst[:w]
}

// ref resolves the reference at pos ('&') and appends its character.
func (s *xmlScanner) ref(dst []byte) []byte {
	s.ensure(maxRefBytes)
	b := s.buf[s.pos+1 : min(s.end, s.pos+maxRefBytes)]
	j := bytes.IndexByte(b, ';')
	if j < 0 {
		s.malformed("unterminated character reference")
		return dst
	}
	s.pos += j + 2
	dst, ok := appendRef(dst, b[:j])
	if !ok {
		s.malformed("unknown or invalid reference &%s;", b[:j])
	}
	return dst
}

// appendRef appends the character of the reference named name (between '&'
// and ';'): a predefined entity or a character reference.
func appendRef(dst, name []byte) ([]byte, bool) {
	switch string(name) {
	case "amp":
		return append(dst, '&'), true
	case "lt":
		return append(dst, '<'), true
	case "gt":
		return append(dst, '>'), true
	case "quot":
		return append(dst, '"'), true
	case "apos":
		return append(dst, '\''), true
	}
	if len(name) < 2 || name[0] != '#' {
		return dst, false
	}
	digits, base := name[1:], rune(10)
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 {
		return dst, false
	}
	var r rune
	for _, c := range digits {
		var d rune
		switch {
		case c >= '0' && c <= '9':
			d = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return dst, false
		}
		r = r*base + d
		if r > utf8.MaxRune {
			return dst, false
		}
	}
	if !isXMLChar(r) {
		return dst, false
	}
	return utf8.AppendRune(dst, r), true
}

// isXMLChar is XML 1.0's Char production.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= utf8.MaxRune
}

// numAttrs is the count of the current start tag's attributes; tags with
// more than fit (no part the reader needs has them) keep the first ones.
func (s *xmlScanner) numAttrs() int { return min(s.nattr, len(s.attrAt)) }

// attrsOverflow reports whether the current start tag has more attributes
// than are kept.
func (s *xmlScanner) attrsOverflow() bool { return s.nattr > len(s.attrAt) }

// attrAtIndex returns attribute i of the current start tag as written,
// references unresolved.
func (s *xmlScanner) attrAtIndex(i int) (key, val []byte) {
	a := s.attrAt[i]
	return s.tag[a.k0:a.k1], s.tag[a.v0:a.v1]
}

// attr returns the current start tag's attribute named key (qualified
// names as written).
func (s *xmlScanner) attr(key string) ([]byte, bool) {
	for i := range s.numAttrs() {
		if k, v := s.attrAtIndex(i); string(k) == key {
			return v, true
		}
	}
	return nil, false
}

// unescapeAttr resolves the references in an attribute value; values the
// reader needs (cell references, types) rarely have any.
func unescapeAttr(v []byte) ([]byte, bool) {
	i := 0
	for i < len(v) && v[i] != '&' {
		i++
	}
	if i == len(v) {
		return v, true
	}
	var out []byte
	for len(v) > 0 {
		i := bytes.IndexByte(v, '&')
		if i < 0 {
			return append(out, v...), true
		}
		out = append(out, v[:i]...)
		j := bytes.IndexByte(v[i:], ';')
		if j < 0 {
			return nil, false
		}
		var ok bool
		if out, ok = appendRef(out, v[i+1:i+j]); !ok {
			return nil, false
		}
		v = v[i+j+1:]
	}
	return out, true
}
