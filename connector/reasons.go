package connector

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// More reject reasons: why a value is not a valid number, as a short code;
// Reject.Detail says it in words a user can act on.
const (
	ReasonTooShort   Reason = "too short"           // too few digits for its country
	ReasonNoCountry  Reason = "no country code"     // no + and no --region to read it by
	ReasonLostPlus   Reason = "lost plus"           // an international number whose + was dropped
	ReasonScientific Reason = "scientific notation" // Excel's 4.17983E+10: the digits are gone
	ReasonNotNumber  Reason = "not a number"        // no phone number at all
	ReasonControl    Reason = "control characters"  // the value holds control characters
)

var scientific = regexp.MustCompile(`^[0-9]+([.,][0-9]+)?[eE][+]?[0-9]+$`)

// why says why v, which did not normalise, is not a number to check.
// num and err are the full parse's answer.
func (n *Normalizer) why(v string, num *phonenumbers.PhoneNumber, err error) Reason {
	digits, letters := 0, 0
	for _, r := range v {
		switch {
		case unicode.IsControl(r) || r == utf8.RuneError:
			return ReasonControl
		case r >= '0' && r <= '9':
			digits++
		case unicode.IsLetter(r):
			letters++
		}
	}
	switch {
	case scientific.MatchString(v):
		return ReasonScientific
	case digits == 0 || letters > 3:
		return ReasonNotNumber
	case digits < 3:
		return ReasonTooShort
	}
	plusless := !strings.HasPrefix(strings.TrimLeft(v, " ("), "+")
	if plusless && n.region != "" && n.withPlus(v) != "" {
		return ReasonLostPlus
	}
	switch err {
	case nil:
	case phonenumbers.ErrInvalidCountryCode:
		if plusless && n.region == "" {
			return ReasonNoCountry
		}
		return ReasonInvalid
	case phonenumbers.ErrTooShortNSN, phonenumbers.ErrTooShortAfterIDD:
		return ReasonTooShort
	case phonenumbers.ErrNumTooLong:
		return ReasonTooLong
	default:
		return ReasonNotNumber
	}
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.TOO_SHORT:
		return ReasonTooShort
	case phonenumbers.TOO_LONG:
		return ReasonTooLong
	}
	return ReasonInvalid
}

// withPlus is v read as an international number with a "+" before its
// digits, or "" when that is no valid number either.
func (n *Normalizer) withPlus(v string) string {
	var b strings.Builder
	b.WriteByte('+')
	for _, r := range v {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	num, err := phonenumbers.Parse(b.String(), "")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return ""
	}
	return phonenumbers.Format(num, phonenumbers.E164)
}

// detail says in words why v was rejected for reason, for the rejects'
// detail column: what is wrong and what would fix it.
func (n *Normalizer) detail(v string, reason Reason) string {
	v = strings.TrimSpace(v)
	switch reason {
	case ReasonEmpty:
		return "the value is empty"
	case ReasonControl:
		return "the value holds control characters or bytes that are not text (shown escaped)"
	case ReasonScientific:
		return "written in scientific notation (as Excel shows long numbers): digits were lost; format the column as text and export again"
	case ReasonNotNumber:
		return "not a phone number"
	case ReasonNoCountry:
		d := "no country code: add + or --region"
		if e := n.withPlus(v); e != "" {
			d += fmt.Sprintf(" (%s would be a valid number in %s)", e, countryName(e))
		}
		return d
	case ReasonLostPlus:
		e := n.withPlus(v)
		return fmt.Sprintf("looks international: did the + get lost? (%s is a valid number in %s; not valid in %s)", e, countryName(e), regionName(n.region))
	case ReasonTooLong:
		if utf8.RuneCountInString(v) > MaxValueLen {
			return fmt.Sprintf("longer than %d characters: not looked at", MaxValueLen)
		}
	}
	where := n.country(v)
	switch reason {
	case ReasonTooShort:
		return "too short for " + where
	case ReasonTooLong:
		return "too long for " + where
	}
	return "not a valid number for " + where
}

// country names the country v is read in: its calling code's, or the
// --region's.
func (n *Normalizer) country(v string) string {
	num, err := phonenumbers.Parse(v, n.region)
	if err == phonenumbers.ErrInvalidCountryCode {
		return "any country: no calling code (+1 to +998) starts it"
	}
	if err != nil {
		if n.region != "" {
			return regionName(n.region)
		}
		return "any country"
	}
	region := phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode()))
	if region == "" || region == "ZZ" {
		return fmt.Sprintf("calling code +%d (no such country)", num.GetCountryCode())
	}
	return fmt.Sprintf("%s (%s, +%d)", englishName(region), region, num.GetCountryCode())
}

func countryName(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return "?"
	}
	return regionName(phonenumbers.GetRegionCodeForNumber(num))
}

// regionName is "Switzerland (CH)" for "CH".
func regionName(cc string) string { return fmt.Sprintf("%s (%s)", englishName(cc), cc) }

func englishName(cc string) string {
	r, err := language.ParseRegion(cc)
	if err != nil {
		return cc
	}
	return display.English.Regions().Name(r)
}

// escapeValue shows control characters and bytes that are not UTF-8 as Go
// escapes, so a rejects file holds only text.
func escapeValue(v string) string {
	clean := true
	for _, r := range v {
		if unicode.IsControl(r) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, v[i])
		case unicode.IsControl(r) && r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += max(size, 1)
	}
	return b.String()
}

// MaxRecordBytes bounds one record of a CSV input, all its lines together
// (a quoted field may hold line breaks). encoding/csv holds a whole record
// in memory, so without a bound one line with no end, or a quote left open
// at the top of a file, would have it buffer the whole file before it could
// say anything. A longer record stops the input with an error naming its
// line.
const MaxRecordBytes = 1 << 20

// excelText reads a CSV as csv.Reader would, but with Excel's text-forcing
// form ="0798284653" turned into the quoted field "0798284653": the value
// inside, not a bare quote error. Quote state is followed, so "=" inside a
// quoted field stays as it is. encoding/csv has no such option, and its
// LazyQuotes would let an unclosed quote swallow rows. It also holds each
// record to MaxRecordBytes.
type excelText struct {
	r       *bufio.Reader
	comma   byte
	form    bool // read ="..." as its value (a one-byte delimiter)
	inQuote bool
	atStart bool
	line    int   // the line being read, from 1
	start   int   // the line the current record started on
	size    int   // bytes of the current record so far
	err     error // sticky: a record over the limit
}

func newExcelText(r *bufio.Reader, comma rune) io.Reader {
	e := &excelText{r: r, atStart: true, line: 1, start: 1}
	if comma < utf8.RuneSelf {
		e.comma, e.form = byte(comma), true
	}
	return e
}

// errRecordTooLong is a CSV record over MaxRecordBytes.
var errRecordTooLong = fmt.Errorf("record longer than %d bytes (1 MiB)", MaxRecordBytes)

// recordTooLongError names the line a record too long started on.
type recordTooLongError struct {
	line    int
	inQuote bool
}

func (e *recordTooLongError) Error() string {
	s := fmt.Sprintf("line %d: %v", e.line, errRecordTooLong)
	if e.inQuote {
		s += "; a quoted field is still open after it: is a closing quote missing?"
	}
	return s
}

func (e *recordTooLongError) Unwrap() error { return errRecordTooLong }

func (e *excelText) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n := 0
	for n < len(p) {
		c, err := e.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if c == '=' && e.form && e.atStart && !e.inQuote {
			if next, err := e.r.Peek(1); err == nil && next[0] == '"' {
				e.atStart = false
				continue // drop the '=': the quote that follows opens the field
			}
		}
		if e.size++; e.size > MaxRecordBytes {
			e.err = &recordTooLongError{line: e.start, inQuote: e.inQuote}
			return n, nil // the record's bytes so far, then the error
		}
		switch {
		case c == '"':
			e.inQuote = !e.inQuote
			e.atStart = false
		case !e.inQuote && (c == e.comma || c == '\n' || c == '\r'):
			e.atStart = true
		default:
			e.atStart = false
		}
		if c == '\n' {
			e.line++
			if !e.inQuote {
				e.start, e.size = e.line, 0
			}
		}
		p[n] = c
		n++
	}
	return n, nil
}

// checkText refuses an input whose first bytes are not text: a NUL byte, or
// more than a few bytes that are not UTF-8. Read as lines, such a file
// would only give rejects full of binary.
func checkText(name string, head []byte) error {
	if i := bytes.IndexByte(head, 0); i >= 0 {
		return fmt.Errorf("connector: %s: not a text file (a NUL byte at offset %d); give a .txt, .csv, .xlsx, .arrow or .parquet file, or --input-format", name, i)
	}
	bad := 0
	for i := 0; i < len(head); {
		r, size := utf8.DecodeRune(head[i:])
		if r == utf8.RuneError && size == 1 && len(head)-i >= utf8.UTFMax {
			bad++
		}
		i += size
	}
	if bad > 8 {
		return fmt.Errorf("connector: %s: not a UTF-8 text file (%d bytes that are not UTF-8 in the first %d); save it as UTF-8, or give --input-format", name, bad, len(head))
	}
	return nil
}

// sniffStdin decides how to read stdin given without --column: as CSV when
// its first line is a header naming a phone column, as one value a line
// otherwise; a header that names none is refused, saying so.
func sniffStdin(head []byte) (string, error) {
	line := head
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		line = head[:i]
	}
	text := strings.TrimPrefix(strings.TrimSpace(string(line)), "\ufeff")
	comma := sniffDelimiter(line, "-")
	fields := strings.Split(text, string(comma))
	if len(fields) < 2 || looksLikeNumber(text) {
		return "txt", nil
	}
	for _, f := range fields {
		if headerRank(strings.Trim(strings.TrimSpace(f), `"`)) > 0 {
			return "csv", nil
		}
	}
	return "", fmt.Errorf("connector: -: the first line of stdin looks like a CSV header (%s) but names no phone column; name it with --column", strconv.Quote(shorten(text, 80)))
}
