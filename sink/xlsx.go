package sink

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/xuri/excelize/v2"
)

// ErrExcelLimit is wrapped by the error for output that does not fit in a
// spreadsheet: too many rows or columns, or a cell with too much text.
var ErrExcelLimit = errors.New("exceeds Excel's limit")

// Excel's limits (Microsoft's "Excel specifications and limits").
const (
	excelMaxRows      = 1_048_576 // per sheet, header included
	excelMaxCols      = 16_384
	excelMaxCellChars = 32_767 // UTF-16 code units
)

// Date cells are used for timestamps in this range. Before March 1900 Excel's
// serial dates are off by one (its 1900 leap-year bug) and after 9999 they do
// not exist; such values are written as RFC 3339 text instead.
var (
	excelMinTime = time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC)
	excelMaxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// xlsxEncoder writes one sheet with excelize's StreamWriter, which spills
// rows to a temporary file past 16 MiB, so memory stays bounded.
//
// Cells are typed: strings as inline strings (never formulas), bools as
// booleans, integers and floats as numbers (Excel keeps 15 significant
// digits), timestamps as date cells in UTC with the format
// yyyy-mm-dd hh:mm:ss.000, nulls as empty cells. More rows than one sheet
// holds is an error, not a second sheet: readers of the file would silently
// miss the rows on other sheets.
type xlsxEncoder struct {
	out     io.Writer
	f       *excelize.File
	sw      *excelize.StreamWriter
	cols    []column
	views   []view
	vals    []any
	tsStyle map[arrow.TimeUnit]int
	header  int // 1 if a header row was written
	maxRows int // excelMaxRows; lowered by tests
}

func newXLSX(out io.Writer, cols []column, cfg config) (*xlsxEncoder, error) {
	if len(cols) > excelMaxCols {
		return nil, fmt.Errorf("sink: xlsx: %d columns %w of %d per sheet", len(cols), ErrExcelLimit, excelMaxCols)
	}
	e := &xlsxEncoder{out: out, cols: cols, vals: make([]any, len(cols)), tsStyle: map[arrow.TimeUnit]int{}, maxRows: excelMaxRows}
	e.f = excelize.NewFile(excelize.Options{TmpDir: cfg.tempDir})
	if err := e.init(cfg); err != nil {
		_ = e.f.Close()
		return nil, err
	}
	return e, nil
}

func (e *xlsxEncoder) init(cfg config) error {
	sheet := e.f.GetSheetName(0)
	if cfg.sheet != sheet {
		if err := e.f.SetSheetName(sheet, cfg.sheet); err != nil {
			return fmt.Errorf("sink: xlsx: sheet name %q: %w", cfg.sheet, err)
		}
		sheet = cfg.sheet
	}
	var err error
	if e.sw, err = e.f.NewStreamWriter(sheet); err != nil {
		return fmt.Errorf("sink: xlsx: %w", err)
	}
	for _, c := range e.cols {
		if c.kind != kindTimestamp || e.tsStyle[c.unit] != 0 {
			continue
		}
		numFmt := "yyyy-mm-dd hh:mm:ss.000"
		if c.unit == arrow.Second {
			numFmt = "yyyy-mm-dd hh:mm:ss"
		}
		id, err := e.f.NewStyle(&excelize.Style{CustomNumFmt: &numFmt})
		if err != nil {
			return fmt.Errorf("sink: xlsx: %w", err)
		}
		e.tsStyle[c.unit] = id
	}
	if !cfg.header {
		return nil
	}
	// Freeze the header so it stays in view; must precede the first row.
	if err := e.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("sink: xlsx: %w", err)
	}
	for i, c := range e.cols {
		if err := checkCellText(c.name, 0, c.name, i); err != nil {
			return err
		}
		e.vals[i] = c.name
	}
	if err := e.sw.SetRow("A1", e.vals); err != nil {
		return fmt.Errorf("sink: xlsx: %w", err)
	}
	e.header = 1
	return nil
}

func (e *xlsxEncoder) write(rec arrow.RecordBatch, first int64) error {
	n := rec.NumRows()
	if first+n+int64(e.header) > int64(e.maxRows) {
		note := ""
		if e.header == 1 {
			note = ", the header included"
		}
		return fmt.Errorf("sink: xlsx: row %d %w of %d rows per sheet%s; write .csv, .parquet or .arrow instead",
			int64(e.maxRows)-int64(e.header)+1, ErrExcelLimit, e.maxRows, note)
	}
	e.views = bind(e.cols, rec, e.views)
	for i := 0; i < int(n); i++ {
		row := first + int64(i) + 1 // 1-based data row
		for j := range e.views {
			v, err := e.cell(&e.views[j], i, row, j)
			if err != nil {
				return err
			}
			e.vals[j] = v
		}
		ref, err := excelize.CoordinatesToCellName(1, int(row)+e.header)
		if err != nil {
			return fmt.Errorf("sink: xlsx: %w", err)
		}
		if err := e.sw.SetRow(ref, e.vals); err != nil {
			return fmt.Errorf("sink: xlsx: row %d: %w", row, err)
		}
	}
	return nil
}

func (e *xlsxEncoder) cell(v *view, i int, row int64, col int) (any, error) {
	if v.isNull(i) {
		return nil, nil
	}
	switch v.col.kind {
	case kindString, kindDict:
		s := v.str(i)
		if err := checkCellText(s, row, v.col.name, col); err != nil {
			return nil, err
		}
		return s, nil
	case kindBool:
		return v.bools.Value(i), nil
	case kindInt:
		return v.i64(i), nil
	case kindUint:
		return v.u64(i), nil
	case kindFloat:
		f := v.f64(i)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			// excelize would write "NaN" as a number and Excel would call the file corrupt.
			return nil, fmt.Errorf("sink: xlsx: row %d, column %q: %v has no spreadsheet representation", row, v.col.name, f)
		}
		return f, nil
	case kindTimestamp:
		t := v.time(i)
		if t.Before(excelMinTime) || !t.Before(excelMaxTime) {
			return t.Format(v.col.layout), nil
		}
		return excelize.Cell{StyleID: e.tsStyle[v.col.unit], Value: t}, nil
	}
	return nil, nil
}

// checkCellText refuses text longer than a cell holds: excelize would
// truncate it silently. row is the 1-based data row, 0 for the header.
func checkCellText(s string, row int64, name string, col int) error {
	where := func() string {
		letter, _ := excelize.ColumnNumberToName(col + 1)
		if row > 0 {
			return fmt.Sprintf("row %d, column %q (%s)", row, name, letter)
		}
		return fmt.Sprintf("header, column %q (%s)", name, letter)
	}
	// XML cannot hold most control characters; excelize would replace them
	// with U+FFFD, changing the data. Refuse instead, as for any limit.
	if !utf8.ValidString(s) {
		return fmt.Errorf("sink: xlsx: %s: text is not valid UTF-8: %w", where(), ErrNotInXML)
	}
	for i, r := range s {
		if !xmlChar(r) {
			return fmt.Errorf("sink: xlsx: %s: character %U at byte %d %w", where(), r, i, ErrNotInXML)
		}
	}
	if len(s) <= excelMaxCellChars {
		return nil // UTF-16 units never outnumber UTF-8 bytes
	}
	units := 0 // UTF-16 code units, as Excel counts
	for _, r := range s {
		units++
		if r >= 0x10000 {
			units++ // a surrogate pair
		}
	}
	if units <= excelMaxCellChars {
		return nil
	}
	return fmt.Errorf("sink: xlsx: %s: %d characters %w of %d per cell", where(), units, ErrExcelLimit, excelMaxCellChars)
}

// ErrNotInXML is wrapped by the error for text an XLSX file cannot hold.
var ErrNotInXML = errors.New("cannot be stored in an XLSX cell")

// xmlChar reports whether r may appear in XML 1.0 text.
func xmlChar(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20:
		return false
	case r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
		return false
	}
	return r <= 0x10FFFF
}

func (e *xlsxEncoder) finish() error {
	if err := e.sw.Flush(); err != nil {
		return fmt.Errorf("sink: xlsx: %w", err)
	}
	if err := e.f.Write(e.out); err != nil {
		return fmt.Errorf("sink: xlsx: %w", err)
	}
	return nil
}

// release removes excelize's temporary files.
func (e *xlsxEncoder) release() error {
	if err := e.f.Close(); err != nil {
		return fmt.Errorf("sink: xlsx: %w", err)
	}
	return nil
}
