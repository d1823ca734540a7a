package sink

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
)

// jsonlEncoder appends JSON text per cell into one buffer; there is no
// per-row map and no reflection. Keys are encoded once.
type jsonlEncoder struct {
	w     io.Writer
	cols  []column
	keys  [][]byte // `{"name":` for the first column, `,"name":` after
	views []view
	buf   []byte
}

// jsonlFlushAt bounds the buffer: rows are handed to the output in chunks
// of about this size rather than one write per row.
const jsonlFlushAt = 32 << 10

func newJSONL(w io.Writer, cols []column) (*jsonlEncoder, error) {
	e := &jsonlEncoder{w: w, cols: cols, keys: make([][]byte, len(cols))}
	for i, c := range cols {
		sep := byte(',')
		if i == 0 {
			sep = '{'
		}
		k := appendJSONString([]byte{sep}, c.name)
		e.keys[i] = append(k, ':')
	}
	return e, nil
}

func (e *jsonlEncoder) write(rec arrow.RecordBatch, first int64) error {
	e.views = bind(e.cols, rec, e.views)
	n := int(rec.NumRows())
	for i := 0; i < n; i++ {
		if len(e.cols) == 0 {
			e.buf = append(e.buf, '{')
		}
		for j := range e.views {
			e.buf = append(e.buf, e.keys[j]...)
			var err error
			if e.buf, err = appendJSONValue(e.buf, &e.views[j], i); err != nil {
				return fmt.Errorf("sink: jsonl: row %d, column %q: %w", first+int64(i)+1, e.cols[j].name, err)
			}
		}
		e.buf = append(e.buf, '}', '\n')
		if len(e.buf) >= jsonlFlushAt {
			if err := e.flush(); err != nil {
				return err
			}
		}
	}
	return e.flush()
}

func (e *jsonlEncoder) flush() error {
	if len(e.buf) == 0 {
		return nil
	}
	_, err := e.w.Write(e.buf)
	e.buf = e.buf[:0]
	if err != nil {
		return fmt.Errorf("sink: jsonl: %w", err)
	}
	return nil
}

func (e *jsonlEncoder) finish() error  { return e.flush() }
func (e *jsonlEncoder) release() error { return nil }

func appendJSONValue(b []byte, v *view, i int) ([]byte, error) {
	if v.isNull(i) {
		return append(b, "null"...), nil
	}
	switch v.col.kind {
	case kindString, kindDict:
		return appendJSONString(b, v.str(i)), nil
	case kindBool:
		return strconv.AppendBool(b, v.bools.Value(i)), nil
	case kindInt:
		return strconv.AppendInt(b, v.i64(i), 10), nil
	case kindUint:
		return strconv.AppendUint(b, v.u64(i), 10), nil
	case kindFloat:
		return appendJSONFloat(b, v.f64(i), v.col.bits)
	case kindTimestamp:
		b = append(b, '"')
		b = v.time(i).AppendFormat(b, v.col.layout)
		return append(b, '"'), nil
	}
	return b, nil
}

// appendJSONFloat formats like encoding/json: shortest representation,
// exponent only for very large or small magnitudes. NaN and ±Inf have no
// JSON form; writing null would silently change the data, so they fail.
func appendJSONFloat(b []byte, f float64, bits int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, fmt.Errorf("%v has no JSON representation", f)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) ||
			bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. It escapes what JSON requires
// (quote, backslash, control characters), replaces invalid UTF-8 with U+FFFD
// and escapes U+2028 and U+2029, which break JavaScript parsers, as
// encoding/json does. HTML characters are left alone: this is data, not a
// web page.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
