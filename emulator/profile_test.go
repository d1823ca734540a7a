package emulator

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProfile(t *testing.T) {
	age := regexp.MustCompile(`^(|unknown|\d{2}|\d{2}-\d{2})$`)
	categories := map[string]int{}
	ages := map[string]int{}
	var failed, noWhatsApp int
	const n = 5000
	for i := range n {
		num := fmt.Sprintf("+1202555%04d", i)
		p := Profile(num)
		require.Equal(t, p, Profile(num), "deterministic")
		require.Equal(t, num, p.Number)
		if p.Failed {
			failed++
			require.Equal(t, Result{Number: num, Failed: true}, p)
			continue
		}
		if !p.WhatsApp {
			noWhatsApp++
			require.Equal(t, Result{Number: num}, p, "no picture fields without WhatsApp")
			continue
		}
		categories[p.Category]++
		require.Regexp(t, age, p.Age)
		switch {
		case p.Age == "" || p.Age == "unknown":
			ages[p.Age]++
		case len(p.Age) == 2:
			ages["single"]++
		default:
			ages["range"]++
		}
		require.Equal(t, p.Category == "no avatar", p.Avatar == "")
		if p.Category != "individual portrait" {
			require.Empty(t, p.Gender)
			require.Empty(t, p.HairColor)
		} else {
			require.NotEmpty(t, p.Gender)
			require.NotEmpty(t, p.HairColor)
			require.NotEmpty(t, p.Age)
		}
	}
	require.InDelta(t, DefaultFailureRate*n, failed, 0.01*n)
	require.InDelta(t, 0.2*float64(n-failed), noWhatsApp, 0.03*n)
	for _, c := range []string{"individual portrait", "pet avatar", "object", "group photo", "no avatar", "landscape", "logo"} {
		require.Positive(t, categories[c], c)
	}
	for _, a := range []string{"", "unknown", "single", "range"} {
		require.Positive(t, ages[a], "age shape %q", a)
	}
}

func TestProfileFailureRate(t *testing.T) {
	low := New(WithFailureRate(0.1))
	high := New(WithFailureRate(0.5))
	var lowFailed, highFailed int
	for i := range 1000 {
		num := fmt.Sprintf("+4420791%05d", i)
		l, h := low.Profile(num), high.Profile(num)
		if l.Failed {
			lowFailed++
			require.True(t, h.Failed, "failing at 10%% implies failing at 50%%")
		}
		if h.Failed {
			highFailed++
		} else {
			require.Equal(t, l, h, "the rate changes nothing but failures")
		}
	}
	require.InDelta(t, 100, lowFailed, 40)
	require.InDelta(t, 500, highFailed, 60)

	require.True(t, New(WithFailureRate(1)).Profile("+41798284651").Failed)
	require.False(t, New(WithFailureRate(0)).Profile("+41798284651").Failed)
	require.True(t, Profile("0041798284651").Failed, "malformed numbers fail")
}

func TestWriteResults(t *testing.T) {
	nums := numbers(300)
	var buf bytes.Buffer
	require.NoError(t, WriteResults(&buf, append(nums, "bogus")))
	rows := readXLSX(t, buf.Bytes())
	require.Equal(t, ResultHeader(), rows[0])
	var want [][]string
	for _, num := range nums {
		if p := Profile(num); !p.Failed {
			want = append(want, wantRow(p))
		}
	}
	require.Len(t, rows, 1+len(want))
	last := 0
	for i, row := range rows[1:] {
		require.Equal(t, want[i], row[:7])
		if row[7] != "" {
			last++
		}
		// The hidden column is filled exactly for portraits.
		require.Equal(t, row[4] == "individual portrait", row[7] != "")
	}
	require.Positive(t, last)
}
