package connector

import (
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/require"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		region, in, want string
		reason           Reason
	}{
		{"", "+41798284651", "+41798284651", ""},
		{"", " +41 79 828 46 51 ", "+41798284651", ""},
		{"", "+41 (0)79 828 46 51", "+41798284651", ""},
		{"CH", "079 828 46 51", "+41798284651", ""},
		{"ch", "0798284651", "+41798284651", ""},
		{"", "0798284651", "", ReasonNoCountry}, // national without a region
		{"US", "(201) 555-0123", "+12015550123", ""},
		{"", "+1 201-555-0123", "+12015550123", ""},
		{"", "0041798284651", "", ReasonNoCountry}, // international prefix needs a region
		{"CH", "0041798284651", "+41798284651", ""},
		{"", "+390612345678", "+390612345678", ""}, // Italian fixed line keeps its leading zero
		{"", "+12", "", ReasonTooShort},
		{"", "+999123456789", "", ReasonInvalid}, // no such calling code
		{"", "+41000000000", "", ReasonInvalid},
		{"", "hello", "", ReasonNotNumber},
		{"", "", "", ReasonEmpty},
		{"", "   \t", "", ReasonEmpty},
		{"", "+" + strings.Repeat("1", 70), "", ReasonTooLong},
		{"", "+4179828465１", "", ReasonInvalid}, // a full-width digit is not canonical; the parser decides
	}
	for _, tt := range tests {
		t.Run(tt.region+"/"+tt.in, func(t *testing.T) {
			n, err := NewNormalizer(tt.region)
			require.NoError(t, err)
			got, reason := n.Normalize(tt.in)
			if tt.in == "+4179828465１" {
				// libphonenumber maps full-width digits to ASCII; whatever it
				// says, the fast path must not have accepted the raw value.
				require.NotEqual(t, tt.in, got)
				return
			}
			require.Equal(t, tt.reason, reason)
			require.Equal(t, tt.want, got)
		})
	}
	_, err := NewNormalizer("XX")
	require.ErrorContains(t, err, `region "XX"`)
}

func BenchmarkNormalize(b *testing.B) {
	var values []string
	for region := range phonenumbers.GetSupportedRegions() {
		if ex := phonenumbers.GetExampleNumberForType(region, phonenumbers.MOBILE); ex != nil {
			values = append(values, phonenumbers.Format(ex, phonenumbers.E164))
		}
	}
	b.Run("wadeep", func(b *testing.B) {
		n, _ := NewNormalizer("")
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			n.Normalize(values[i%len(values)])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "numbers/s")
	})
	b.Run("full-parse", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			num, err := phonenumbers.Parse(values[i%len(values)], "")
			if err == nil && phonenumbers.IsValidNumber(num) {
				_ = phonenumbers.Format(num, phonenumbers.E164)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "numbers/s")
	})
}
