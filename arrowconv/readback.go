package arrowconv

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// IsProfileTable reports whether a header is that of a profile table
// wadeep wrote (its own output, not the upstream's result workbook): it has
// the number column and the split age columns.
func IsProfileTable(header []string) bool {
	has := map[string]bool{}
	for _, h := range header {
		has[strings.TrimSpace(h)] = true
	}
	return has[ColNumber] && has[ColAgeMin] && has[ColAgeMax] && has[ColStatus]
}

// TextProfiles rebuilds profile batches from a profile table wadeep wrote
// that comes back as text cells: a CSV, JSON lines or XLSX output. Each
// value is read as the sinks write it (booleans as true/false or 1/0,
// timestamps as RFC 3339 or an Excel date serial); other columns pass
// through as utf8, and a column wadeep never carries is refused. Not safe
// for concurrent use.
type TextProfiles struct {
	name   string
	schema *arrow.Schema
	b      *array.RecordBuilder
	cols   []int // header position → field index, -1 for a column left out
	names  []string
	n      int
}

// NewTextProfiles checks header (the table's first row) and returns a
// builder for its rows; name is the file, for errors.
func NewTextProfiles(name string, header []string, mem memory.Allocator) (*TextProfiles, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	if !IsProfileTable(header) {
		return nil, fmt.Errorf("arrowconv: %s: not a profile table wadeep wrote (want columns %s, %s, %s, %s)", name, ColNumber, ColStatus, ColAgeMin, ColAgeMax)
	}
	fixed := map[string]int{}
	for i, f := range Schema().Fields() {
		fixed[f.Name] = i
	}
	var extra []string
	cols := make([]int, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		switch {
		case NeverCarried(h):
			return nil, fmt.Errorf("arrowconv: %s: column %q is data wadeep never carries (docs/privacy.md)", name, h)
		case seen[h]:
			return nil, fmt.Errorf("arrowconv: %s: column %q appears twice", name, h)
		}
		seen[h] = true
		if idx, ok := fixed[h]; ok {
			cols[i] = idx
			continue
		}
		cols[i] = numFixed + len(extra)
		extra = append(extra, h)
	}
	schema := Schema(extra...)
	return &TextProfiles{name: name, schema: schema, b: array.NewRecordBuilder(mem, schema), cols: cols, names: header}, nil
}

// Schema is the schema of the batches: the profile schema and the table's
// other columns.
func (p *TextProfiles) Schema() *arrow.Schema { return p.schema }

// Len is the rows appended since the last batch.
func (p *TextProfiles) Len() int { return p.n }

// Append adds one row; row is its 1-based row in the file, for errors. An
// empty cell is null; a row shorter than the header has nulls at its end.
func (p *TextProfiles) Append(row int, cells []string) error {
	if len(cells) > len(p.cols) {
		return fmt.Errorf("arrowconv: %s: row %d has %d cells, the header %d", p.name, row, len(cells), len(p.cols))
	}
	filled := make([]bool, p.schema.NumFields())
	for i, v := range cells {
		f := p.cols[i]
		filled[f] = true
		if err := p.appendValue(f, strings.TrimSpace(v)); err != nil {
			return fmt.Errorf("arrowconv: %s: row %d, column %q: %w", p.name, row, p.names[i], err)
		}
	}
	for f, ok := range filled {
		if !ok {
			if f == idxNumber {
				return fmt.Errorf("arrowconv: %s: row %d has no %s", p.name, row, ColNumber)
			}
			p.b.Field(f).AppendNull()
		}
	}
	p.n++
	return nil
}

func (p *TextProfiles) appendValue(f int, v string) error {
	fb := p.b.Field(f)
	if v == "" {
		if f == idxNumber {
			return fmt.Errorf("empty, and number is the key")
		}
		fb.AppendNull()
		return nil
	}
	switch b := fb.(type) {
	case *array.StringBuilder:
		b.Append(v)
	case *array.BinaryDictionaryBuilder:
		return b.AppendString(v)
	case *array.BooleanBuilder:
		switch strings.ToLower(v) {
		case "true", "1":
			b.Append(true)
		case "false", "0":
			b.Append(false)
		default:
			return fmt.Errorf("%q: want true or false", v)
		}
	case *array.Int16Builder:
		n, err := strconv.ParseInt(v, 10, 16)
		if err != nil {
			return fmt.Errorf("%q: want a whole number", v)
		}
		b.Append(int16(n))
	case *array.TimestampBuilder:
		t, err := parseTime(v)
		if err != nil {
			return err
		}
		b.Append(arrow.Timestamp(t.UnixMilli()))
	default:
		return fmt.Errorf("no reader for %s", fb.Type())
	}
	return nil
}

// excelEpoch is day 0 of Excel's serial dates (after its 1900 leap bug).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// parseTime reads a timestamp as the sinks write it: RFC 3339, or an Excel
// date serial (days since 1899-12-30, UTC) from an XLSX date cell.
func parseTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	if days, err := strconv.ParseFloat(v, 64); err == nil && days > 60 && days < 2958466 && !math.IsInf(days, 0) {
		ms := math.Round(days * 86400e3)
		return excelEpoch.Add(time.Duration(ms) * time.Millisecond), nil
	}
	return time.Time{}, fmt.Errorf("%q: want a time like 2026-01-02T03:04:05.000Z", v)
}

// NewRecordBatch returns the rows appended so far as a batch and starts
// the next; the caller releases it.
func (p *TextProfiles) NewRecordBatch() arrow.RecordBatch {
	p.n = 0
	return p.b.NewRecordBatch()
}

// Release frees the builder.
func (p *TextProfiles) Release() { p.b.Release() }
