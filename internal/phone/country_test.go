package phone

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/require"
)

// TestCountryOfMatchesLibrary checks the fast path against libphonenumber's
// Parse and GetRegionCodeForNumber on random and example numbers of every
// calling code.
func TestCountryOfMatchesLibrary(t *testing.T) {
	c := NewCountryOf()
	r := rand.New(rand.NewPCG(7, 7))
	perCode := 300
	if testing.Short() {
		perCode = 60
	}
	check := func(n string) {
		t.Helper()
		require.Equal(t, LibraryRegion(n), c.Lookup([]byte(n)), "number %q", n)
	}
	for _, n := range []string{"", "+", "+1", "+12", "+123", "+0123456", "12345", "+1-202", "+١٢٣٤٥", "+4407911123456", "+440", "+999999", "+80012345678"} {
		check(n)
	}
	coll, err := phonenumbers.MetadataCollection()
	require.NoError(t, err)
	for _, m := range coll.GetMetadata() {
		cc := strconv.Itoa(int(m.GetCountryCode()))
		for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetFixedLine(), m.GetMobile(), m.GetTollFree(), m.GetPremiumRate(), m.GetVoip()} {
			if ex := d.GetExampleNumber(); ex != "" {
				check("+" + cc + ex)
				check("+" + cc + m.GetNationalPrefix() + ex)
			}
		}
	}
	for code := range phonenumbers.GetSupportedCallingCodes() {
		cc := strconv.Itoa(code)
		for range perCode {
			n := []byte("+" + cc)
			for range 1 + r.IntN(15) {
				n = append(n, byte('0'+r.IntN(10)))
			}
			check(string(n))
		}
	}
}
