package arrowconv

import (
	"bytes"
	"errors"
	"fmt"
)

// nullWords are cell values that mean "no value" in an inferred column.
var nullWords = [][]byte{[]byte("unknown"), []byte("none"), []byte("null"), []byte("n/a"), []byte("na"), []byte("-")}

// isNullValue reports whether a trimmed cell means "no value".
func isNullValue(v []byte) bool {
	switch len(v) {
	case 0:
		return true
	case 1:
		return v[0] == '-'
	case 2, 3, 4, 7:
	default:
		return false // no null word has this length: skip the comparisons
	}
	for _, w := range nullWords {
		if bytes.EqualFold(v, w) {
			return true
		}
	}
	return false
}

var errBadBool = errors.New("want yes or no")

// parseWhatsApp reads the whatsapp cell; ok is false for an empty or unknown
// value, which marks the number as failed.
func parseWhatsApp(v []byte) (val, ok bool, err error) {
	if isNullValue(v) {
		return false, false, nil
	}
	switch {
	case bytes.EqualFold(v, []byte("yes")), bytes.EqualFold(v, []byte("true")), bytes.Equal(v, []byte("1")), bytes.EqualFold(v, []byte("y")):
		return true, true, nil
	case bytes.EqualFold(v, []byte("no")), bytes.EqualFold(v, []byte("false")), bytes.Equal(v, []byte("0")), bytes.EqualFold(v, []byte("n")):
		return false, true, nil
	}
	return false, false, fmt.Errorf("whatsapp value %q: %w", v, errBadBool)
}

var errBadAge = errors.New("want an age like 25, a range like 25-30, or 60+")

// parseAge reads the age cell: "25" gives 25..25, "25-30" gives 25..30 and
// "60+" gives 60..null. hasMin is false for an empty or unknown age.
func parseAge(v []byte) (lo, hi int16, hasMin, hasMax bool, err error) {
	if isNullValue(v) {
		return 0, 0, false, false, nil
	}
	bad := func() (int16, int16, bool, bool, error) {
		return 0, 0, false, false, fmt.Errorf("age %q: %w", v, errBadAge)
	}
	if v[len(v)-1] == '+' {
		n, ok := parseSmallInt(bytes.TrimSpace(v[:len(v)-1]))
		if !ok {
			return bad()
		}
		return n, 0, true, false, nil
	}
	// A range may be written with a hyphen or an en dash, with spaces around it.
	sep, width := bytes.IndexByte(v, '-'), 1
	if sep < 0 {
		sep, width = bytes.Index(v, []byte("–")), len("–")
	}
	if sep <= 0 {
		n, ok := parseSmallInt(v)
		if !ok {
			return bad()
		}
		return n, n, true, true, nil
	}
	a, okA := parseSmallInt(bytes.TrimSpace(v[:sep]))
	b, okB := parseSmallInt(bytes.TrimSpace(v[sep+width:]))
	if !okA || !okB || b < a {
		return bad()
	}
	return a, b, true, true, nil
}

// parseSmallInt accepts a non-negative integer below 1000, also when a writer
// stored it as a float ("25.0").
func parseSmallInt(v []byte) (int16, bool) {
	if i := bytes.IndexByte(v, '.'); i >= 0 {
		for _, c := range v[i+1:] {
			if c != '0' {
				return 0, false
			}
		}
		v = v[:i]
	}
	if len(v) == 0 || len(v) > 3 {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return int16(n), true
}

var errBadNumber = errors.New("want an E.164 number like +41798284651")

// parseNumber reads the Number cell. Writers may store the number as a
// numeric cell, which drops the "+"; it is put back.
func parseNumber(v []byte) (string, error) {
	b, err := appendNumber(nil, v)
	return string(b), err
}

// appendNumber is parseNumber into dst[:0], without allocating.
func appendNumber(dst, v []byte) ([]byte, error) {
	digits := v
	if len(v) > 0 && v[0] == '+' {
		digits = v[1:]
	}
	if n := len(digits); n < 4 || n > 15 {
		return dst, fmt.Errorf("number %q: %w", v, errBadNumber)
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return dst, fmt.Errorf("number %q: %w", v, errBadNumber)
		}
	}
	return append(append(dst[:0], '+'), digits...), nil
}
