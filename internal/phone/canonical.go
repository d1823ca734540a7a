package phone

import "github.com/nyaruka/phonenumbers"

// Canonical decides values that are already canonical E.164 ("+" and
// digits, no leading zero after the calling code) without libphonenumber's
// parse, which spends most of its time on extracting and cleaning free-form
// input. The number is still validated against the metadata. It is the
// normaliser's fast path: what it does not accept goes to the full parse.
// Not safe for concurrent use (it reuses a parse buffer).
type Canonical struct {
	num   phonenumbers.PhoneNumber
	cc    int32
	nn    uint64
	codes map[int]bool // calling code → known, memoised
	// valid runs IsValidNumber's rules as DFAs: the library's regular
	// expressions were most of planning's time and garbage.
	valid CountryOf
}

// NewCanonical returns a Canonical.
func NewCanonical() *Canonical {
	c := &Canonical{codes: map[int]bool{}}
	c.num.CountryCode, c.num.NationalNumber = &c.cc, &c.nn
	return c
}

// Valid returns v and true when v is a valid number in canonical E.164.
// ok is true only for a valid number; false says nothing about v but that
// the full parse must decide it.
func (c *Canonical) Valid(v string) (e string, ok bool) {
	if len(v) < 8 || len(v) > 16 || v[0] != '+' || v[1] == '0' {
		return "", false
	}
	for i := 1; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return "", false
		}
	}
	// Calling codes are prefix-free: the first known prefix is the code.
	code, l := 0, 0
	for l = 1; l <= 3; l++ {
		code = code*10 + int(v[l]-'0')
		known, seen := c.codes[code]
		if !seen {
			known = len(phonenumbers.GetRegionCodesForCountryCode(code)) > 0
			c.codes[code] = known
		}
		if known {
			break
		}
	}
	if l > 3 {
		return "", false // no calling code starts this number: the parser says why
	}
	rest := v[l+1:]
	if rest == "" || rest[0] == '0' {
		return "", false // a leading zero is kept apart by the parser (Italy): let it
	}
	valid, sure := c.valid.Valid(code, []byte(rest))
	if !sure {
		var nn uint64
		for i := 0; i < len(rest); i++ {
			nn = nn*10 + uint64(rest[i]-'0')
		}
		c.cc, c.nn = int32(code), nn
		valid = phonenumbers.IsValidNumber(&c.num)
	}
	if !valid {
		// The full parse may still rewrite it into a valid number (some
		// regions' metadata transforms national numbers, e.g. +672 Norfolk
		// Island): let it decide.
		return "", false
	}
	return v, true
}
