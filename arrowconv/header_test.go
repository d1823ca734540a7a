package arrowconv

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMapHeader(t *testing.T) {
	upstream := []string{"Number", "whatsapp", "avatar", "age", "category", "gender", "hair_color", "skin_color"}
	tests := []struct {
		name    string
		header  []string
		lenient bool
		want    []source
		extras  []string
		errMsg  string
	}{
		{name: "upstream order", header: upstream,
			want: []source{srcNumber, srcWhatsApp, srcAvatar, srcAge, srcCategory, srcGender, srcHairColor, srcDropped}},
		{name: "case, spaces and order ignored", header: []string{" HAIR COLOR", "Gender", "AGE", "Category ", "Avatar", "WhatsApp", "number"},
			want: []source{srcHairColor, srcGender, srcAge, srcCategory, srcAvatar, srcWhatsApp, srcNumber}},
		{name: "skin color dropped under any spelling", header: append([]string{"Skin Color", "SKIN-COLOUR", "skinColor"}, upstream[:7]...),
			want: []source{srcDropped, srcDropped, srcDropped, srcNumber, srcWhatsApp, srcAvatar, srcAge, srcCategory, srcGender, srcHairColor}},
		{name: "unknown columns pass through in snake case", header: append(upstream[:7:7], "Profile Name", "lastSeenAt", "", "country"),
			want:   []source{srcNumber, srcWhatsApp, srcAvatar, srcAge, srcCategory, srcGender, srcHairColor, srcExtra, srcExtra, srcIgnore, srcExtra},
			extras: []string{"profile_name", "last_seen_at", "upstream_country"}},
		{name: "missing columns", header: []string{"Number", "whatsapp", "avatar"}, errMsg: "header lacks column(s) age, category, gender, hair_color"},
		{name: "missing columns allowed", header: []string{"Number", "whatsapp"}, lenient: true, want: []source{srcNumber, srcWhatsApp}},
		{name: "number is always required", header: []string{"whatsapp"}, lenient: true, errMsg: "lacks column(s) Number"},
		{name: "repeated column", header: append(upstream[:7:7], "AGE"), errMsg: `header "AGE" in column H repeats column D`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := mapHeader(tt.header, tt.lenient)
			if tt.errMsg != "" {
				require.ErrorContains(t, err, tt.errMsg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, h.cols)
			require.Equal(t, tt.extras, h.extras)
		})
	}
}

func TestValueParsing(t *testing.T) {
	ages := []struct {
		in           string
		lo, hi       int16
		hasLo, hasHi bool
		bad          bool
	}{
		{in: "25", lo: 25, hi: 25, hasLo: true, hasHi: true},
		{in: "25.0", lo: 25, hi: 25, hasLo: true, hasHi: true},
		{in: "25-30", lo: 25, hi: 30, hasLo: true, hasHi: true},
		{in: "25 – 30", lo: 25, hi: 30, hasLo: true, hasHi: true},
		{in: "60+", lo: 60, hasLo: true},
		{in: ""},
		{in: "Unknown"},
		{in: "30-25", bad: true},
		{in: "old", bad: true},
		{in: "25.5", bad: true},
		{in: "-5", bad: true},
	}
	for _, a := range ages {
		lo, hi, hasLo, hasHi, err := parseAge([]byte(a.in))
		if a.bad {
			require.ErrorIs(t, err, errBadAge, a.in)
			continue
		}
		require.NoError(t, err, a.in)
		require.Equal(t, []any{a.lo, a.hi, a.hasLo, a.hasHi}, []any{lo, hi, hasLo, hasHi}, a.in)
	}
	for in, want := range map[string][2]bool{"yes": {true, true}, "No": {false, true}, "TRUE": {true, true}, "0": {false, true}, "": {false, false}, "unknown": {false, false}} {
		v, ok, err := parseWhatsApp([]byte(in))
		require.NoError(t, err, in)
		require.Equal(t, want, [2]bool{v, ok}, in)
	}
	_, _, err := parseWhatsApp([]byte("maybe"))
	require.ErrorIs(t, err, errBadBool)

	for in, want := range map[string]string{"+41798284651": "+41798284651", "41798284651": "+41798284651"} {
		got, err := parseNumber([]byte(in))
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	for _, in := range []string{"", "+", "+41 79", "4.1798284651E10", "+1234567890123456"} {
		_, err := parseNumber([]byte(in))
		require.ErrorIs(t, err, errBadNumber, in)
	}
	require.Equal(t, "profile_name", snakeName(" Profile  Name "))
	require.Equal(t, "last_seen_at", snakeName("lastSeenAt"))
}

func TestNeverCarried(t *testing.T) {
	for _, name := range []string{"skin_color", "Skin Colour", "SKINCOLOR", "skin tone", "skinTone", "Ethnicity", "ethnicity_race",
		"Ethnicity/Race", "race", "race_ethnicity", "Race", "skin color (detected)", "skin_colour_label", "ｓｋｉｎ＿ｃｏｌｏｒ", "racial group"} {
		require.True(t, NeverCarried(name), name)
		h, err := mapHeader(append([]string{name}, "Number", "whatsapp", "avatar", "age", "category", "gender", "hair_color"), false)
		require.NoError(t, err, name)
		require.Equal(t, srcDropped, h.cols[0], name)
		require.Empty(t, h.extras, name)
	}
	for _, name := range []string{"hair_color", "trace_id", "grace", "racecar", "avatar", "skin_care_brand", "tone_of_voice", "number"} {
		require.False(t, NeverCarried(name), name)
	}
}
