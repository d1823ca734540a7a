package phone

import (
	"github.com/nyaruka/phonenumbers"
)

// CountryOf derives the ISO 3166-1 alpha-2 region of an E.164 number: the
// answer of libphonenumber's Parse(number, "") then GetRegionCodeForNumber,
// with "" for none, non-geographic codes (+800) included.
//
// That pair costs 10-15µs a number, mostly Go regexp backtracking over
// metadata patterns, which would make it most of the cost of reading a
// result file. The common case is answered here with the same rules over
// the same metadata, the patterns run as DFAs (digitDFA):
//   - a calling code of one region needs no pattern: Parse only fails on
//     numbers too short to have a national number;
//   - a shared code (+1, +7, +44, ...) takes the first of its regions whose
//     leading digits, or else whose number patterns, match the national
//     number, as getRegionCodeForNumberFromRegionList does.
//
// Whatever that path cannot prove it answers as the library would goes to
// the library: input that is not "+" and digits, a national number that
// starts with the main region's national prefix (Parse may strip it) or,
// for shared codes, with 0 (kept as leading zeros), and a code whose
// patterns use constructs digitDFA does not support. TestCountryOfMatchesLibrary
// checks the equivalence on random numbers for every calling code.
// Not safe for concurrent use.
type CountryOf struct {
	codes [1000]*callingCode // by calling code, resolved on first use
	valid [1000]*validity    // by calling code, for Valid, resolved on first use
	meta  map[string]*phonenumbers.PhoneMetadata
	// nonGeo is metadata of non-geographic codes (region "001") by code.
	nonGeo map[int32]*phonenumbers.PhoneMetadata
}

// callingCode is what a calling code needs for the fast path.
type callingCode struct {
	known   bool
	region  string       // the only region, or "" for a non-geographic code
	npp     *digitDFA    // the main region's national prefix for parsing, if any
	rules   []regionRule // for a shared code
	library bool         // a pattern digitDFA refuses: always ask the library
}

// regionRule decides whether a national number belongs to one region of a
// shared calling code.
type regionRule struct {
	region  string
	leading *digitDFA // the region's leading digits; when set, nothing else counts
	general numberDesc
	// any of these makes the number's type known (getNumberTypeHelper)
	kinds []numberDesc
}

type numberDesc struct {
	lengths []int32 // possible lengths; empty means any
	dfa     *digitDFA
}

func (n numberDesc) matches(nsn []byte) bool {
	if n.dfa == nil {
		return false
	}
	if len(n.lengths) > 0 && !slices32Contains(n.lengths, int32(len(nsn))) {
		return false
	}
	return n.dfa.matchFull(nsn)
}

func slices32Contains(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func NewCountryOf() *CountryOf { return &CountryOf{} }

// Lookup returns the region of e164, or "".
func (c *CountryOf) Lookup(e164 []byte) string {
	if len(e164) < 4 || len(e164) > 1+3+17 || e164[0] != '+' || e164[1] == '0' || !allDigits(e164[1:]) {
		return LibraryRegion(string(e164))
	}
	digits := e164[1:]
	var cc *callingCode
	l, code := 0, 0
	for l < 3 && l < len(digits) {
		code = code*10 + int(digits[l]-'0')
		l++
		if cc = c.code(code); cc.known {
			break
		}
	}
	if cc == nil || !cc.known {
		return ""
	}
	nsn := digits[l:]
	if len(nsn) < phonenumbers.MIN_LENGTH_FOR_NSN || len(nsn) > phonenumbers.MAX_LENGTH_FOR_NSN {
		return ""
	}
	if cc.library || (cc.npp != nil && cc.npp.matchPrefix(nsn)) || (cc.rules != nil && nsn[0] == '0') {
		return LibraryRegion(string(e164))
	}
	if cc.rules == nil {
		return cc.region
	}
	for i := range cc.rules {
		if cc.rules[i].matches(nsn) {
			return cc.rules[i].region
		}
	}
	return ""
}

func (r *regionRule) matches(nsn []byte) bool {
	if r.leading != nil {
		return r.leading.matchPrefix(nsn)
	}
	if !r.general.matches(nsn) {
		return false
	}
	for _, k := range r.kinds {
		if k.matches(nsn) {
			return true
		}
	}
	return false
}

func allDigits(s []byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// LibraryRegion is the library's answer, for what the fast path leaves.
func LibraryRegion(number string) string {
	num, err := phonenumbers.Parse(number, "")
	if err != nil {
		return ""
	}
	switch r := phonenumbers.GetRegionCodeForNumber(num); r {
	case "ZZ", "001":
		return ""
	default:
		return r
	}
}

// code resolves a calling code on first use.
func (c *CountryOf) code(code int) *callingCode {
	if cc := c.codes[code]; cc != nil {
		return cc
	}
	cc := &callingCode{}
	c.codes[code] = cc
	regions := phonenumbers.GetRegionCodesForCountryCode(code)
	if len(regions) == 0 {
		return cc
	}
	cc.known = true
	main := c.metadata(regions[0], int32(code))
	if main == nil {
		cc.library = true
		return cc
	}
	if p := main.GetNationalPrefixForParsing(); p != "" {
		d, err := newDigitDFA("^(?:" + p + ")")
		if err != nil {
			cc.library = true
			return cc
		}
		cc.npp = d
	}
	if len(regions) == 1 {
		if regions[0] != "001" {
			cc.region = regions[0]
		}
		return cc
	}
	for _, region := range regions {
		m := c.metadata(region, int32(code))
		if m == nil {
			cc.library = true
			return cc
		}
		rule, ok := newRegionRule(region, m)
		if !ok {
			cc.library = true
			return cc
		}
		cc.rules = append(cc.rules, rule)
	}
	return cc
}

func newRegionRule(region string, m *phonenumbers.PhoneMetadata) (regionRule, bool) {
	r := regionRule{region: region}
	if ld := m.GetLeadingDigits(); ld != "" {
		d, err := newDigitDFA("^(?:" + ld + ")")
		if err != nil {
			return r, false
		}
		r.leading = d
		return r, true
	}
	return newTypedRule(region, m)
}

// newTypedRule is the rule of a region's number types (no leading digits).
func newTypedRule(region string, m *phonenumbers.PhoneMetadata) (regionRule, bool) {
	r := regionRule{region: region}
	ok := true
	desc := func(d *phonenumbers.PhoneNumberDesc) numberDesc {
		if d == nil {
			return numberDesc{}
		}
		dfa, err := newDigitDFA("^(?:" + d.GetNationalNumberPattern() + ")$")
		if err != nil {
			ok = false
			return numberDesc{}
		}
		return numberDesc{lengths: d.GetPossibleLength(), dfa: dfa}
	}
	r.general = desc(m.GetGeneralDesc())
	// Fixed line first: it decides most numbers, and the order of an "or"
	// does not change its answer.
	r.kinds = append(r.kinds, desc(m.GetFixedLine()))
	if !m.GetSameMobileAndFixedLinePattern() {
		r.kinds = append(r.kinds, desc(m.GetMobile()))
	}
	for _, d := range []*phonenumbers.PhoneNumberDesc{
		m.GetPremiumRate(), m.GetTollFree(), m.GetSharedCost(), m.GetVoip(),
		m.GetPersonalNumber(), m.GetPager(), m.GetUan(), m.GetVoicemail(),
	} {
		r.kinds = append(r.kinds, desc(d))
	}
	return r, ok
}

// metadata finds a region's metadata, or a non-geographic code's.
func (c *CountryOf) metadata(region string, code int32) *phonenumbers.PhoneMetadata {
	if c.meta == nil {
		coll, err := phonenumbers.MetadataCollection()
		if err != nil {
			return nil
		}
		c.meta = map[string]*phonenumbers.PhoneMetadata{}
		c.nonGeo = map[int32]*phonenumbers.PhoneMetadata{}
		for _, m := range coll.GetMetadata() {
			if m.GetId() == "001" {
				c.nonGeo[m.GetCountryCode()] = m
			} else {
				c.meta[m.GetId()] = m
			}
		}
	}
	if region == "001" {
		return c.nonGeo[code]
	}
	return c.meta[region]
}
