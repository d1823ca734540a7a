package connector

import (
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// MaxValueLen is the longest input value looked at; longer ones are rejected
// as too long without parsing (a phone number with formatting and an
// extension fits well within it).
const MaxValueLen = 64

// Normalizer turns user-written phone numbers into E.164. Not safe for
// concurrent use (it reuses a parse buffer).
type Normalizer struct {
	region string // default region for national formats, "" for none
	num    phonenumbers.PhoneNumber
	cc     int32
	nn     uint64
	codes  map[int]bool // calling code → known, memoised
}

// NewNormalizer returns a Normalizer; region (ISO 3166-1 alpha-2, like "CH")
// is the country assumed for numbers written without a "+" and calling code.
func NewNormalizer(region string) (*Normalizer, error) {
	region = strings.ToUpper(strings.TrimSpace(region))
	if region != "" && !phonenumbers.GetSupportedRegions()[region] {
		return nil, fmt.Errorf("connector: region %q is not a known ISO 3166-1 alpha-2 code", region)
	}
	n := &Normalizer{region: region, codes: map[int]bool{}}
	n.num.CountryCode, n.num.NationalNumber = &n.cc, &n.nn
	return n, nil
}

// Normalize returns the E.164 form of v, or the reason it has none.
func (n *Normalizer) Normalize(v string) (string, Reason) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", ReasonEmpty
	case len(v) > MaxValueLen:
		return "", ReasonTooLong
	}
	if e, ok := n.fast(v); ok {
		return e, ""
	}
	num, err := phonenumbers.Parse(v, n.region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", ReasonInvalid
	}
	return phonenumbers.Format(num, phonenumbers.E164), ""
}

// fast decides values that are already canonical E.164 ("+" and digits, no
// leading zero after the calling code) without libphonenumber's parse, which
// spends most of its time on extracting and cleaning free-form input. The
// number is still validated against the metadata. ok is true only for a
// valid number; anything else goes to the full parse.
func (n *Normalizer) fast(v string) (e string, ok bool) {
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
		known, seen := n.codes[code]
		if !seen {
			known = len(phonenumbers.GetRegionCodesForCountryCode(code)) > 0
			n.codes[code] = known
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
	var nn uint64
	for i := 0; i < len(rest); i++ {
		nn = nn*10 + uint64(rest[i]-'0')
	}
	n.cc, n.nn = int32(code), nn
	if !phonenumbers.IsValidNumber(&n.num) {
		// The full parse may still rewrite it into a valid number (some
		// regions' metadata transforms national numbers, e.g. +672 Norfolk
		// Island): let it decide.
		return "", false
	}
	return v, true
}
