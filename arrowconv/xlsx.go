package arrowconv

import "github.com/wadeep/wadeep/internal/xlsx"

// The workbook itself is read by internal/xlsx; its errors are arrowconv's.

var (
	// ErrMalformed is matched by errors.Is for a file that is not a well-formed
	// workbook: a broken zip, malformed XML, a reference to a missing part or
	// to a shared string that does not exist.
	ErrMalformed = xlsx.ErrMalformed

	// ErrNoSheet is matched by errors.Is for a workbook without a worksheet.
	ErrNoSheet = xlsx.ErrNoSheet

	// ErrLimit is matched by errors.Is for a file over one of the reader's
	// limits; errors.As with *LimitError says which one.
	ErrLimit = xlsx.ErrLimit
)

// LimitError says which limit a file went over and which option raises it.
// Every LimitError matches ErrLimit.
type LimitError = xlsx.LimitError

// ParseError says where in a result file reading failed and why, like
// encoding/csv.ParseError: File, Sheet, and the 1-based Row and Column (zero
// when the error is not about one row or cell), and Err, what was wrong.
type ParseError = xlsx.ParseError

// rowSource yields the rows of the first worksheet of a workbook, as
// *xlsx.Rows does (and, in tests, an excelize-backed oracle).
type rowSource interface {
	// Next advances to the next row; false at the end or on error.
	Next() bool
	// Row returns the 1-based sheet row number and the raw text of its
	// cells by column (empty for an empty cell). Valid until Next is called.
	Row() (int, [][]byte)
	Err() error
	Sheet() string
	Close() error
}

var _ rowSource = (*xlsx.Rows)(nil)
