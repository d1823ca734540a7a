package connector

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/wadeep/wadeep/internal/jsonl"
)

// Reason says why an input row produced no number to check.
type Reason string

// Reject reasons.
const (
	ReasonEmpty     Reason = "empty"     // the row's value is empty
	ReasonTooLong   Reason = "too long"  // longer than MaxValueLen
	ReasonInvalid   Reason = "invalid"   // not a valid phone number
	ReasonDuplicate Reason = "duplicate" // the same number as an earlier row
)

// Reject is an input row that is not uploaded, and why.
type Reject struct {
	File   string // input name as given ("-" for stdin)
	Row    int    // 1-based line of the value in its file
	Value  string // the value, cut to MaxValueLen+1 runes, control characters escaped
	Reason Reason
	Detail string // the reason in words: what is wrong and how to fix it
	// DuplicateOf is the earlier row with the same number (for ReasonDuplicate).
	DuplicateOf RowRef
}

// RowRef names one input row.
type RowRef struct {
	File string
	Row  int
}

// Explain is the reject's reason in words, e.g. "duplicate of row 3" or
// "no country code: add + or --region".
func (r Reject) Explain() string {
	if r.Reason != ReasonDuplicate {
		if r.Detail != "" {
			return r.Detail
		}
		return string(r.Reason)
	}
	if r.DuplicateOf.File != r.File {
		return fmt.Sprintf("duplicate of %s row %d", r.DuplicateOf.File, r.DuplicateOf.Row)
	}
	return fmt.Sprintf("duplicate of row %d", r.DuplicateOf.Row)
}

// Input is one table of phone numbers to check.
type Input struct {
	Name string    // file name, or "-" for stdin; errors and rejects cite it
	R    io.Reader // its bytes, for txt and csv
	// RA and Size give random access, which xlsx, arrow and parquet need
	// (an *os.File serves as both R and RA).
	RA   io.ReaderAt
	Size int64
	// Records, if set, is the input itself: an Arrow stream from the
	// caller's pipeline (Arrow in, Arrow out). It is read to its end, not
	// released: the caller owns it. Rows count from 1 across batches.
	Records array.RecordReader
	Format  string // "txt", "csv", "xlsx", "arrow" or "parquet"; "" decides by the name's extension
	Column  string // for tables: the column holding the numbers; "" detects it
}

// maxLine is the longest input line kept whole; longer lines are rejected as
// too long, not read into memory.
const maxLine = 64 << 10

// format resolves the input's format from Format and Name.
func (in Input) format() (string, error) {
	if in.Format != "" {
		f := strings.ToLower(in.Format)
		switch f {
		case "txt", "csv", "jsonl", "xlsx", "arrow", "parquet":
			return f, nil
		}
		return "", fmt.Errorf("connector: %s: unknown input format %q (want txt, csv, jsonl, xlsx, arrow or parquet)", in.Name, in.Format)
	}
	switch ext := strings.ToLower(filepath.Ext(in.Name)); ext {
	case ".txt", ".text", ".lst", "":
		if in.Column != "" {
			return "csv", nil
		}
		return "txt", nil
	case ".csv", ".tsv":
		return "csv", nil
	case ".jsonl", ".ndjson":
		return "jsonl", nil
	case ".xlsx":
		return "xlsx", nil
	case ".arrow", ".ipc", ".feather":
		return "arrow", nil
	case ".parquet":
		return "parquet", nil
	default:
		return "", fmt.Errorf("connector: %s: unsupported input extension %q (supported: .txt, .csv, .tsv, .jsonl, .xlsx, .arrow, .parquet, - for stdin)", in.Name, ext)
	}
}

// rowFunc receives one input row: its 1-based row (line) number and value,
// or blank set for a blank line or record, which has no value to check.
type rowFunc func(row int, value string, blank bool)

// readValues calls fn for each row of the input, and records in src (if
// not nil) the input's columns and the one picked.
func readValues(in Input, src *Source, fn rowFunc) error {
	if in.Records != nil {
		return readRecords(in, src, fn)
	}
	f, err := in.format()
	if err != nil {
		return err
	}
	if f == "txt" || f == "csv" || f == "jsonl" {
		br := bufio.NewReaderSize(in.R, 64<<10)
		in.R = br
		head, _ := br.Peek(8 << 10)
		if err := checkText(in.Name, head); err != nil {
			return err
		}
		if f == "txt" && in.Name == "-" && in.Format == "" {
			if f, err = sniffStdin(head); err != nil {
				return err
			}
		}
	}
	switch f {
	case "csv":
		return readCSV(in, src, fn)
	case "jsonl":
		return readJSONL(in, src, fn)
	case "xlsx":
		return readXLSX(in, src, fn)
	case "arrow":
		return guarded(in, func() error { return readArrowIPC(in, src, fn) })
	case "parquet":
		return guarded(in, func() error { return readParquet(in, src, fn) })
	}
	src.pickText()
	return readText(in, fn)
}

func readText(in Input, fn rowFunc) error {
	br := bufio.NewReaderSize(in.R, 64<<10)
	var long []byte
	for row := 1; ; row++ {
		line, tooLong, err := readLine(br, &long)
		if err == io.EOF && line == nil {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("connector: %s: line %d: %w", in.Name, row, err)
		}
		if row == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		// A cut line (tooLong) still holds over MaxValueLen bytes, so
		// Normalize rejects it as too long.
		fn(row, string(line), len(bytes.TrimSpace(line)) == 0 && !tooLong)
		if err == io.EOF {
			return nil
		}
	}
}

// readLine reads one line without its end. A line longer than maxLine is
// drained and returned cut, with tooLong set. line is nil only at EOF.
func readLine(br *bufio.Reader, buf *[]byte) (line []byte, tooLong bool, err error) {
	*buf = (*buf)[:0]
	for {
		part, err := br.ReadSlice('\n')
		if len(*buf)+len(part) <= maxLine {
			*buf = append(*buf, part...)
		} else {
			tooLong = true
		}
		switch err {
		case bufio.ErrBufferFull:
			continue
		case nil:
			return trimEOL(*buf), tooLong, nil
		case io.EOF:
			if len(*buf) == 0 && !tooLong {
				return nil, false, io.EOF
			}
			return trimEOL(*buf), tooLong, io.EOF
		default:
			return nil, false, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// csvError names the input of a CSV read error. A *csv.ParseError stays
// whole inside it, so errors.As finds its line and column.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &csvParseError{name: name, err: pe}
	}
	return fmt.Errorf("connector: %s: %w", name, err)
}

type csvParseError struct {
	name string
	err  *csv.ParseError
}

func (e *csvParseError) Error() string {
	return fmt.Sprintf("connector: %s: line %d, column %d: %v", e.name, e.err.Line, e.err.Column, e.err.Err)
}

func (e *csvParseError) Unwrap() error { return e.err }

// openCSV starts reading a CSV input, for planning and for the enriched
// view alike: the delimiter is sniffed from the first line (comma,
// semicolon or tab), Excel's ="..." text form is read as its value, and the
// first record (a BOM trimmed) is returned as the header; nil at once for
// an empty input. Quotes stay strict: a lenient reader lets an unclosed
// quote swallow every later row into one field, losing rows without a
// word. A broken quote stops the input with its line and column instead.
func openCSV(in Input) (*csv.Reader, []string, error) {
	br := bufio.NewReaderSize(in.R, 64<<10)
	head, _ := br.Peek(4096)
	comma := sniffDelimiter(head, in.Name)
	cr := csv.NewReader(newExcelText(br, comma))
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, csvError(in.Name, err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	return cr, header, nil
}

func readCSV(in Input, src *Source, fn rowFunc) error {
	cr, header, err := openCSV(in)
	if cr == nil {
		return err
	}
	pick, err := pickColumn(in, header, nil)
	if err != nil {
		return err
	}
	col, hasHeader := pick.col, pick.header
	src.pickCells(header, col, hasHeader)
	if src != nil {
		src.Candidates = pick.others
	}
	if !hasHeader {
		line, _ := cr.FieldPos(col)
		emitCell(header, col, line, fn)
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvError(in.Name, err)
		}
		line, _ := cr.FieldPos(0)
		if col < len(rec) {
			line, _ = cr.FieldPos(col)
		}
		emitCell(rec, col, line, fn)
	}
}

// emitCell hands on the value of one record's phone column. A record whose
// every field is empty counts as blank; a record lacking the column, or with
// it empty, is still a row and is rejected as empty.
func emitCell(rec []string, col, line int, fn rowFunc) {
	allEmpty := true
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			allEmpty = false
			break
		}
	}
	switch {
	case allEmpty:
		fn(line, "", true)
	case col < len(rec):
		fn(line, rec[col], false)
	default:
		fn(line, "", false)
	}
}

func sniffDelimiter(head []byte, name string) rune {
	first := head
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		first = head[:i]
	}
	if strings.EqualFold(filepath.Ext(name), ".tsv") {
		return '\t'
	}
	counts := map[rune]int{',': bytes.Count(first, []byte(",")), ';': bytes.Count(first, []byte(";")), '\t': bytes.Count(first, []byte("\t"))}
	best := ','
	for _, d := range []rune{';', '\t'} {
		if counts[d] > counts[best] {
			best = d
		}
	}
	return best
}

// readJSONL reads one JSON object a line (wadeep's .jsonl outputs among
// them): the first object's keys are the header, the phone column is
// picked from them, and a blank line is a blank row.
func readJSONL(in Input, src *Source, fn rowFunc) error {
	br := bufio.NewReaderSize(in.R, 64<<10)
	var buf []byte
	col := -1
	var name string
	for row := 1; ; row++ {
		line, tooLong, err := readLine(br, &buf)
		if err == io.EOF && line == nil {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("connector: %s: line %d: %w", in.Name, row, err)
		}
		if tooLong {
			return fmt.Errorf("connector: %s: line %d: longer than %d bytes", in.Name, row, maxLine)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			fn(row, "", true)
		} else {
			keys, vals, jerr := jsonl.Object(line)
			if jerr != nil {
				return fmt.Errorf("connector: %s: line %d: %w", in.Name, row, jerr)
			}
			if col < 0 {
				pick, perr := pickColumn(in, keys, nil)
				if perr != nil {
					return perr
				}
				col, name = pick.col, keys[pick.col]
				src.pickCells(keys, col, true)
				if src != nil {
					src.Candidates = pick.others
				}
			}
			value := ""
			for i, k := range keys {
				if k == name {
					value = vals[i]
				}
			}
			fn(row, value, false)
		}
		if err == io.EOF {
			return nil
		}
	}
}
