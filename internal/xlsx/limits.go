package xlsx

// Default limits against hostile files, the values of DefaultLimits.
// arrowconv's options document each (its Default constants are these).
const (
	DefaultMaxUncompressed      = 4 << 30   // bytes inflated, all parts together
	DefaultMaxCompressionRatio  = 200       // uncompressed:compressed of one entry past 8 MiB
	DefaultMaxRows              = 1 << 20   // Excel's sheet height
	DefaultMaxColumns           = 1024      // a result has eight; Excel's width is 16,384
	DefaultMaxCellBytes         = 4 * 32767 // Excel's 32,767 characters of up to four bytes
	DefaultMaxSharedStrings     = 1 << 24   // entries of the shared string table
	DefaultMaxSharedStringBytes = 256 << 20 // its text, held in memory
	defaultMaxRowBytes          = 32 << 20  // cell text of one row
	maxSharedStringBytes        = 1<<32 - 1 // the table's offsets are 32 bits
)

// Limits bound what a workbook from the network may cost. A field of zero
// or below means its default; Open applies them.
type Limits struct {
	Uncompressed      int64 // bytes inflated from the archive, all parts together
	Ratio             int64 // uncompressed:compressed bytes of one entry, checked past 8 MiB
	Rows              int   // row numbers and the count of rows of the sheet
	Columns           int   // columns of a row
	CellBytes         int   // text of one cell
	SharedStrings     int   // entries of the shared string table
	SharedStringBytes int64 // text of the shared string table (at most 4 GiB)
	RowBytes          int   // cell text of one row, shared strings included
}

// DefaultLimits returns the default of every limit.
func DefaultLimits() Limits {
	return Limits{
		Uncompressed:      DefaultMaxUncompressed,
		Ratio:             DefaultMaxCompressionRatio,
		Rows:              DefaultMaxRows,
		Columns:           DefaultMaxColumns,
		CellBytes:         DefaultMaxCellBytes,
		SharedStrings:     DefaultMaxSharedStrings,
		SharedStringBytes: DefaultMaxSharedStringBytes,
		RowBytes:          defaultMaxRowBytes,
	}
}

// withDefaults replaces the fields of zero or below with their defaults.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	set := func(dst *int, def int) {
		if *dst <= 0 {
			*dst = def
		}
	}
	set(&l.Rows, d.Rows)
	set(&l.Columns, d.Columns)
	set(&l.CellBytes, d.CellBytes)
	set(&l.SharedStrings, d.SharedStrings)
	set(&l.RowBytes, d.RowBytes)
	if l.Uncompressed <= 0 {
		l.Uncompressed = d.Uncompressed
	}
	if l.Ratio <= 0 {
		l.Ratio = d.Ratio
	}
	if l.SharedStringBytes <= 0 {
		l.SharedStringBytes = d.SharedStringBytes
	}
	l.SharedStringBytes = min(l.SharedStringBytes, maxSharedStringBytes)
	return l
}
