package phone

import (
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/nyaruka/phonenumbers"

	"github.com/wadeep/wadeep/internal/fuzzseed"
)

// dfaCase is one metadata pattern as CountryOf compiles it: as a DFA, and as
// the regular expression the DFA must agree with.
type dfaCase struct {
	pattern string // as given to newDigitDFA and regexp.Compile
	full    bool   // anchored at both ends (matchFull); else a prefix (matchPrefix)
	dfa     *digitDFA
	re      *regexp.Regexp
}

// dfaCases are the patterns of every calling code, in metadata order, and
// by calling code. Built once: the DFAs keep their lazily built states
// across fuzz inputs, as a long-lived CountryOf does.
var dfaCases = sync.OnceValues(func() ([]*dfaCase, map[int][]*dfaCase) {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		panic(err)
	}
	var all []*dfaCase
	byCode := map[int][]*dfaCase{}
	seen := map[string]bool{}
	add := func(code int32, pattern string, full bool) {
		if full {
			pattern = "^(?:" + pattern + ")$"
		} else {
			pattern = "^(?:" + pattern + ")"
		}
		d, err := newDigitDFA(pattern)
		if err != nil {
			return // CountryOf leaves such a code to the library
		}
		c := &dfaCase{pattern: pattern, full: full, dfa: d, re: regexp.MustCompile(pattern)}
		byCode[int(code)] = append(byCode[int(code)], c)
		if !seen[pattern] {
			seen[pattern] = true
			all = append(all, c)
		}
	}
	for _, m := range coll.GetMetadata() {
		code := m.GetCountryCode()
		if p := m.GetNationalPrefixForParsing(); p != "" {
			add(code, p, false)
		}
		if ld := m.GetLeadingDigits(); ld != "" {
			add(code, ld, false)
		}
		for _, d := range []*phonenumbers.PhoneNumberDesc{
			m.GetGeneralDesc(), m.GetFixedLine(), m.GetMobile(), m.GetPremiumRate(),
			m.GetTollFree(), m.GetSharedCost(), m.GetVoip(), m.GetPersonalNumber(),
			m.GetPager(), m.GetUan(), m.GetVoicemail(),
		} {
			if p := d.GetNationalNumberPattern(); p != "" {
				add(code, p, true)
			}
		}
	}
	return all, byCode
})

// check compares c's DFA with its regular expression on the digits s.
func (c *dfaCase) check(t *testing.T, d *digitDFA, s string) {
	t.Helper()
	want := c.re.MatchString(s)
	if got := d.matchPrefix([]byte(s)); got != want {
		t.Fatalf("pattern %s on %q: matchPrefix %v, regexp %v", c.pattern, s, got, want)
	}
	if c.full {
		if got := d.matchFull([]byte(s)); got != want {
			t.Fatalf("pattern %s on %q: matchFull %v, regexp %v", c.pattern, s, got, want)
		}
	}
}

// FuzzCountryDFA checks the DFAs CountryOf runs against the regular
// expressions they are built from, libphonenumber's metadata patterns: for
// the number's own calling code, every pattern of its regions on the
// national number; and one pattern picked by pick on the whole number, with
// a DFA kept across inputs and a fresh one. Then CountryOf's answer for an
// E.164-length number against the library's, and Valid's against
// IsValidNumber. Seeded with the numbers of many regions in
// testdata/numbers.txt and every region's example numbers.
//
//	go test ./internal/phone -run '^$' -fuzz FuzzCountryDFA -fuzztime 1m
func FuzzCountryDFA(f *testing.F) {
	for _, n := range fuzzseed.Strings(f, "testdata/numbers.txt") {
		f.Add(n, uint16(len(n)))
	}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		f.Fatal(err)
	}
	for i, m := range coll.GetMetadata() {
		cc := strconv.Itoa(int(m.GetCountryCode()))
		for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetFixedLine(), m.GetMobile(), m.GetTollFree(), m.GetPremiumRate(), m.GetVoip()} {
			if ex := d.GetExampleNumber(); ex != "" {
				f.Add("+"+cc+ex, uint16(i))
			}
		}
	}
	countries := NewCountryOf()
	f.Fuzz(func(t *testing.T, number string, pick uint16) {
		if len(number) > 40 {
			return // numbers are short; long inputs only slow the search
		}
		var digits []byte
		for i := 0; i < len(number); i++ {
			if c := number[i]; c >= '0' && c <= '9' {
				digits = append(digits, c)
			}
		}
		all, byCode := dfaCases()
		code := 0
		for l := 0; l < 3 && l < len(digits); l++ {
			code = code*10 + int(digits[l]-'0')
			if cases, ok := byCode[code]; ok {
				nsn := string(digits[l+1:])
				for _, c := range cases {
					c.check(t, c.dfa, nsn)
				}
				break
			}
		}
		c := all[int(pick)%len(all)]
		c.check(t, c.dfa, string(digits))
		fresh, err := newDigitDFA(c.pattern)
		if err != nil {
			t.Fatalf("pattern %s: %v", c.pattern, err)
		}
		c.check(t, fresh, string(digits))

		// Lookup is held to the library on numbers of at most 15 digits, the
		// E.164 maximum and all the country column passes it. Past 17 digits
		// of national number they differ: Parse strips a national prefix
		// before it checks the length, Lookup answers "" first
		// (+1180010000000000000: the library says DO).
		if len(digits) > 15 {
			return
		}
		if got, want := countries.Lookup([]byte(number)), LibraryRegion(number); got != want {
			t.Fatalf("Lookup(%q) = %q, the library says %q", number, got, want)
		}

		// Valid, for the number's digits read as a calling code and a
		// national number without a leading zero, against IsValidNumber.
		for l := 1; l <= 3 && l < len(digits); l++ {
			if digits[l] == '0' {
				continue
			}
			code, _ := strconv.Atoi(string(digits[:l]))
			nn, _ := strconv.ParseUint(string(digits[l:]), 10, 64)
			cc := int32(code)
			want := phonenumbers.IsValidNumber(&phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn})
			if got, sure := countries.Valid(code, digits[l:]); sure && got != want {
				t.Fatalf("Valid(+%d %s) = %v, IsValidNumber says %v", code, digits[l:], got, want)
			}
		}
	})
}
