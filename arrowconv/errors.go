package arrowconv

import (
	"fmt"
	"strings"
)

// ParseError says where in a result file reading failed and why, like
// encoding/csv.ParseError. Row and Column are 1-based; zero when the error is
// not about one row or cell.
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
		fmt.Fprintf(&b, "sheet %q: ", e.Sheet)
	}
	switch {
	case e.Row > 0 && e.Column > 0:
		fmt.Fprintf(&b, "cell %s%d: ", columnName(e.Column-1), e.Row)
	case e.Row > 0:
		fmt.Fprintf(&b, "row %d: ", e.Row)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }
