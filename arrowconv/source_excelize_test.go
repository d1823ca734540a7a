package arrowconv

import (
	"errors"
	"io"

	"github.com/xuri/excelize/v2"
)

// excelizeSource reads rows through excelize's streaming Rows iterator.
type excelizeSource struct {
	f     *excelize.File
	rows  *excelize.Rows
	name  string
	n     int
	cells [][]byte
	e     error
}

func newExcelizeSource(ra io.ReaderAt, size int64) (*excelizeSource, error) {
	f, err := excelize.OpenReader(io.NewSectionReader(ra, 0, size))
	if err != nil {
		return nil, err
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		f.Close()
		return nil, errors.New("workbook has no sheet")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		f.Close()
		return nil, err
	}
	return &excelizeSource{f: f, rows: rows, name: sheets[0]}, nil
}

func (s *excelizeSource) Next() bool {
	if s.e != nil || !s.rows.Next() {
		return false
	}
	cols, err := s.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		s.e = err
		return false
	}
	s.n++
	s.cells = s.cells[:0]
	for _, c := range cols {
		s.cells = append(s.cells, []byte(c))
	}
	return true
}

func (s *excelizeSource) Row() (int, [][]byte) { return s.n, s.cells }

func (s *excelizeSource) Err() error {
	if s.e != nil {
		return s.e
	}
	return s.rows.Error()
}

func (s *excelizeSource) Sheet() string { return s.name }

func (s *excelizeSource) Close() error {
	return errors.Join(s.rows.Close(), s.f.Close())
}
