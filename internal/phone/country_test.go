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

// TestValidMatchesLibrary checks CountryOf.Valid against libphonenumber's
// IsValidNumber on example and random numbers of every calling code.
func TestValidMatchesLibrary(t *testing.T) {
	c := NewCountryOf()
	r := rand.New(rand.NewPCG(11, 3))
	perCode := 400
	if testing.Short() {
		perCode = 80
	}
	unsure, checked, valid := 0, 0, 0
	check := func(code int, nsn string) {
		t.Helper()
		if nsn == "" || nsn[0] == '0' {
			return // Valid's contract: no leading zero
		}
		nn, err := strconv.ParseUint(nsn, 10, 64)
		require.NoError(t, err)
		cc := int32(code)
		want := phonenumbers.IsValidNumber(&phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn})
		got, sure := c.Valid(code, []byte(nsn))
		if !sure {
			unsure++
			return
		}
		checked++
		if want {
			valid++
		}
		require.Equal(t, want, got, "+%d %s", code, nsn)
	}
	coll, err := phonenumbers.MetadataCollection()
	require.NoError(t, err)
	for _, m := range coll.GetMetadata() {
		for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetFixedLine(), m.GetMobile(), m.GetTollFree(), m.GetPremiumRate(), m.GetVoip(), m.GetSharedCost(), m.GetPager(), m.GetUan(), m.GetVoicemail(), m.GetPersonalNumber()} {
			if ex := d.GetExampleNumber(); ex != "" {
				check(int(m.GetCountryCode()), ex)
				// One digit more and one less: near misses.
				check(int(m.GetCountryCode()), ex+"1")
				check(int(m.GetCountryCode()), ex[:len(ex)-1])
				// The example's prefix with other digits after it: mostly
				// valid numbers of the same type.
				for range perCode / 20 {
					b := []byte(ex)
					for k := len(b) / 2; k < len(b); k++ {
						b[k] = byte('0' + r.IntN(10))
					}
					check(int(m.GetCountryCode()), string(b))
				}
			}
		}
	}
	for code := range phonenumbers.GetSupportedCallingCodes() {
		for range perCode {
			n := []byte{byte('1' + r.IntN(9))}
			for range r.IntN(15) {
				n = append(n, byte('0'+r.IntN(10)))
			}
			check(code, string(n))
		}
	}
	t.Logf("%d numbers left to the library; %d valid of %d checked", unsure, valid, checked)
	require.Greater(t, valid, checked/10, "valid numbers are checked too, not only invalid ones")
}
