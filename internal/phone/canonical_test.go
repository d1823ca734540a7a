package phone

import (
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/require"
)

// Canonical must agree with libphonenumber's full parse on every value it
// takes.
func TestCanonicalAgreesWithParse(t *testing.T) {
	c := NewCanonical()
	var values []string
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.MOBILE, phonenumbers.FIXED_LINE, phonenumbers.TOLL_FREE} {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			e := phonenumbers.Format(ex, phonenumbers.E164)
			values = append(values, e, e[:len(e)-1], e+"0", e[:len(e)-1]+"9")
		}
	}
	require.Greater(t, len(values), 500)
	fast := 0
	for _, v := range values {
		got, ok := c.Valid(v)
		if !ok {
			continue
		}
		fast++
		want := ""
		if num, err := phonenumbers.Parse(v, ""); err == nil && phonenumbers.IsValidNumber(num) {
			want = phonenumbers.Format(num, phonenumbers.E164)
		}
		require.Equal(t, want, got, v)
	}
	require.Greater(t, fast, len(values)/2, "most canonical values take the fast path")
}

// BenchmarkValid compares CountryOf.Valid with the library's IsValidNumber,
// which the canonical fast path called before, on the same numbers.
//
//	go test ./internal/phone -run '^$' -bench BenchmarkValid
func BenchmarkValid(b *testing.B) {
	numbers := []struct {
		code int
		nsn  string
	}{{41, "798284651"}, {1, "2025550123"}, {44, "7911123456"}, {49, "15123456789"}, {33, "612345678"}, {91, "9876543210"}, {55, "11987654321"}, {7, "9161234567"}}
	b.Run("impl=library", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			n := numbers[i%len(numbers)]
			cc, nn := int32(n.code), uint64(0)
			for _, c := range n.nsn {
				nn = nn*10 + uint64(c-'0')
			}
			if !phonenumbers.IsValidNumber(&phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}) {
				b.Fatal(n)
			}
		}
	})
	b.Run("impl=dfa", func(b *testing.B) {
		c := NewCountryOf()
		for i := 0; b.Loop(); i++ {
			n := numbers[i%len(numbers)]
			if ok, sure := c.Valid(n.code, []byte(n.nsn)); !ok || !sure {
				b.Fatal(n)
			}
		}
	})
}
