package phone

import "github.com/nyaruka/phonenumbers"

// validity is what one calling code needs to answer IsValidNumber with
// DFAs: its regions' rules, in the library's order, each with its number
// types built whether or not the region has leading digits.
type validity struct {
	known   bool
	rules   []regionRule
	library bool // a pattern digitDFA refuses: ask the library
}

// Valid reports what libphonenumber's IsValidNumber says of the number with
// calling code code and national significant number nsn (digits, no
// leading zero), without its regular expressions: the region is the only
// one of the code or the first whose leading digits, or else whose number
// types, match (getRegionCodeForNumberFromRegionList), and the number is
// valid when that region's general pattern and one of its types match it
// (getNumberTypeHelper). sure is false when the metadata has a pattern the
// DFAs do not run: the caller asks the library. TestValidMatchesLibrary and
// FuzzValid check the equivalence.
func (c *CountryOf) Valid(code int, nsn []byte) (valid, sure bool) {
	if code <= 0 || code >= len(c.valid) {
		return false, false
	}
	v := c.valid[code]
	if v == nil {
		v = c.newValidity(code)
		c.valid[code] = v
	}
	switch {
	case v.library:
		return false, false
	case !v.known:
		return false, true
	}
	for i := range v.rules {
		r := &v.rules[i]
		if len(v.rules) == 1 || r.matches(nsn) {
			return r.typed(nsn), true
		}
	}
	return false, true
}

// typed is getNumberTypeHelper(nsn) != UNKNOWN for the rule's region.
func (r *regionRule) typed(nsn []byte) bool {
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

func (c *CountryOf) newValidity(code int) *validity {
	v := &validity{}
	regions := phonenumbers.GetRegionCodesForCountryCode(code)
	if len(regions) == 0 {
		return v
	}
	v.known = true
	for _, region := range regions {
		m := c.metadata(region, int32(code))
		if m == nil {
			v.library = true
			return v
		}
		rule, ok := newRegionRule(region, m)
		if !ok {
			v.library = true
			return v
		}
		if rule.leading != nil { // the types too: validity needs them
			typed, ok := newTypedRule(region, m)
			if !ok {
				v.library = true
				return v
			}
			rule.general, rule.kinds = typed.general, typed.kinds
		}
		v.rules = append(v.rules, rule)
	}
	return v
}
