package connector

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/internal/fuzzseed"
)

func TestRejectReasonsSayWhy(t *testing.T) {
	for _, c := range []struct {
		region, in string
		reason     Reason
		detail     string
	}{
		{"", "4.17983E+10", ReasonScientific, "scientific notation"},
		{"CH", "4,17983E+10", ReasonScientific, "digits were lost"},
		{"", "41798284651", ReasonNoCountry, "no country code: add + or --region (+41798284651 would be a valid number in Switzerland (CH))"},
		{"CH", "491701234567", ReasonLostPlus, "looks international: did the + get lost? (+491701234567 is a valid number in Germany (DE); not valid in Switzerland (CH))"},
		{"", "+41 79 828", ReasonTooShort, "too short for Switzerland (CH, +41)"},
		{"", "+41 79 828 46 51 12345", ReasonTooLong, "too long for Switzerland (CH, +41)"},
		{"", "+41 00 000 00 00", ReasonInvalid, "not a valid number for Switzerland (CH, +41)"},
		{"", "+999123456789", ReasonInvalid, "no calling code"},
		{"", "call me maybe", ReasonNotNumber, "not a phone number"},
		{"", "+41\x00798284651", ReasonControl, "control characters"},
		{"", "+" + strings.Repeat("1", 70), ReasonTooLong, "longer than 64 characters"},
	} {
		n, err := NewNormalizer(c.region)
		require.NoError(t, err)
		got, reason := n.Normalize(c.in)
		require.Empty(t, got, c.in)
		require.Equal(t, c.reason, reason, c.in)
		require.Contains(t, n.detail(c.in, reason), c.detail, c.in)
	}
}

func TestRejectValuesAreEscaped(t *testing.T) {
	plan, err := NewPlan([]Input{{Name: "in.txt", R: strings.NewReader("+41\x07798\x01284651\nab\xffcd\n")}}, PlanOptions{})
	require.NoError(t, err)
	require.Len(t, plan.Rejects, 2)
	require.Equal(t, `+41\x07798\x01284651`, plan.Rejects[0].Value)
	require.Equal(t, ReasonControl, plan.Rejects[0].Reason)
	require.Equal(t, `ab\xffcd`, plan.Rejects[1].Value)
}

func TestExcelTextForm(t *testing.T) {
	// ="0798284653" is Excel's way to keep a leading zero: the value inside.
	in := "Name;Mobile\nAnna;=\"0798284653\"\nBen;\"=\"\"x\"\"\"\nCleo;=\"079 828 46 51\"\n"
	plan, err := NewPlan([]Input{{Name: "crm.csv", R: strings.NewReader(in)}}, PlanOptions{Region: "CH"})
	require.NoError(t, err)
	require.Equal(t, []string{"+41798284653", "+41798284651"}, plan.Numbers.Strings())
	require.Len(t, plan.Rejects, 1)
	require.Equal(t, `="x"`, plan.Rejects[0].Value, "an = inside a quoted field stays")

	// A quote left open is still an error, not swallowed rows.
	_, err = NewPlan([]Input{{Name: "bad.csv", R: strings.NewReader("Mobile\n\"+41798284651\n+33612345678\n")}}, PlanOptions{})
	require.Error(t, err)
}

// FuzzExcelText reads arbitrary CSV text through the ="..." filter, seeded
// from testdata/excel-text.txt and the CSV inputs: only '=' bytes that open
// a quoted field are dropped, nothing else changes.
func FuzzExcelText(f *testing.F) {
	for _, s := range fuzzseed.Strings(f, "testdata/excel-text.txt") {
		f.Add(s)
	}
	for _, s := range fuzzseed.Files(f, "testdata/inputs/*.csv") {
		f.Add(string(s.Data))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > MaxRecordBytes {
			return // a record too long is an error, tested on its own
		}
		out, err := io.ReadAll(newExcelText(bufio.NewReader(strings.NewReader(s)), ','))
		require.NoError(t, err)
		// Only '=' bytes are ever dropped, and only before a quote; without
		// such a pair the bytes pass unchanged.
		if !strings.Contains(s, "=\"") {
			require.Equal(t, s, string(out))
			return
		}
		require.Equal(t, strings.ReplaceAll(s, "=", ""), string(bytes.ReplaceAll(out, []byte("="), nil)))
	})
}
