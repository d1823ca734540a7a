package arrowconv

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/nyaruka/phonenumbers"
)

// nullWords are cell values that mean "no value" in an inferred column.
var nullWords = [][]byte{[]byte("unknown"), []byte("none"), []byte("null"), []byte("n/a"), []byte("na"), []byte("-")}

// isNullValue reports whether a trimmed cell means "no value".
func isNullValue(v []byte) bool {
	if len(v) == 0 {
		return true
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
	digits := v
	if len(v) > 0 && v[0] == '+' {
		digits = v[1:]
	}
	if n := len(digits); n < 4 || n > 15 {
		return "", fmt.Errorf("number %q: %w", v, errBadNumber)
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return "", fmt.Errorf("number %q: %w", v, errBadNumber)
		}
	}
	if v[0] == '+' {
		return string(v), nil
	}
	return "+" + string(v), nil
}

// countryOf derives the ISO 3166-1 alpha-2 region of an E.164 number.
// Most calling codes belong to one region and are looked up without a parse;
// shared ones (+1, +7, +44, ...) need libphonenumber's full parse, whose
// region rules go down to long prefixes, so its answer is not cached.
type countryOf struct {
	byCode map[int]string // calling code → region; "" shared, "-" non-geographic, "?" not a code
}

func newCountryOf() *countryOf {
	return &countryOf{byCode: map[int]string{}}
}

// lookup returns the region, or "" when the number has none (non-geographic
// codes like +800, or an unknown code).
func (c *countryOf) lookup(e164 string) string {
	digits := e164[1:]
	for l := 1; l <= 3 && l < len(digits); l++ {
		code, err := strconv.Atoi(digits[:l])
		if err != nil {
			return ""
		}
		region, known := c.byCode[code]
		if !known {
			regions := phonenumbers.GetRegionCodesForCountryCode(code)
			switch {
			case len(regions) == 0:
				region = "?"
			case len(regions) == 1 && regions[0] != "001":
				region = regions[0]
			case len(regions) == 1:
				region = "-"
			default:
				region = ""
			}
			c.byCode[code] = region
		}
		switch region {
		case "?":
			continue // not a calling code; try a longer prefix
		case "-":
			return ""
		case "":
			num, err := phonenumbers.Parse(e164, "")
			if err != nil {
				return ""
			}
			if r := phonenumbers.GetRegionCodeForNumber(num); r != "ZZ" && r != "001" {
				return r
			}
			return ""
		default:
			return region
		}
	}
	return ""
}
