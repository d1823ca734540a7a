package xlsx

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

var (
	// ErrMalformed is matched by errors.Is for a file that is not a well-formed
	// workbook: a broken zip, malformed XML, a reference to a missing part or
	// to a shared string that does not exist.
	ErrMalformed = errors.New("malformed workbook")

	// ErrNoSheet is matched by errors.Is for a workbook without a worksheet.
	ErrNoSheet = errors.New("workbook has no worksheet")

	// ErrLimit is matched by errors.Is for a file over one of the reader's
	// limits; errors.As with *LimitError says which one.
	ErrLimit = errors.New("over a reader limit")
)

// LimitError says which limit a file went over and which option raises it
// (an option of arrowconv, where LimitError is this type).
type LimitError struct {
	What   string // what went over, e.g. "columns of a row"
	Limit  int64  // the limit in force
	Unit   string // of Limit, e.g. " bytes" or ":1"; may be empty
	Option string // the option that raises it, e.g. "WithMaxColumns"
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s over the limit of %d%s (%s raises it)", e.What, e.Limit, e.Unit, e.Option)
}

// Is makes every LimitError match ErrLimit.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// ParseError says where in a result file reading failed and why, like
// encoding/csv.ParseError. Row and Column are 1-based; zero when the error is
// not about one row or cell. Its text starts "arrowconv: ", the package
// through which these errors reach users (arrowconv.ParseError is this type).
type ParseError struct {
	File   string // file name, when known
	Sheet  string // sheet name, when known
	Row    int
	Column int
	Err    error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("arrowconv: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Sheet != "" {
		fmt.Fprintf(&b, "sheet %s: ", cut(strconv.Quote(e.Sheet), 66))
	}
	switch {
	case e.Row > 0 && e.Column > 0:
		fmt.Fprintf(&b, "cell %s%d: ", ColumnName(e.Column-1), e.Row)
	case e.Row > 0:
		fmt.Fprintf(&b, "row %d: ", e.Row)
	}
	b.WriteString(cut(oneLine(e.Err.Error()), maxErrText))
	return b.String()
}

// maxErrText bounds the text of the cause of a ParseError: names from the
// file (parts, tags) go into it, and a file may make them long.
const maxErrText = 512

// cut shortens s to at most n bytes and an ellipsis, at a character
// boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// oneLine escapes what in s is not printable text (line breaks, control
// characters, bytes that are not UTF-8), as Go would quote them: names
// taken from a file must not break an error into lines. Printable text is
// left as it is.
func oneLine(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, notPrint) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case notPrint(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

func notPrint(r rune) bool { return !unicode.IsPrint(r) }

func (e *ParseError) Unwrap() error { return e.Err }

// ColumnName gives the spreadsheet letters of a 0-based column index: 0 → A, 27 → AB.
func ColumnName(i int) string {
	var buf [8]byte
	n := len(buf)
	for i++; i > 0; i = (i - 1) / 26 {
		n--
		buf[n] = byte('A' + (i-1)%26)
	}
	return string(buf[n:])
}
