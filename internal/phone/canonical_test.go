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
