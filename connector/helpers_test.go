package connector

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/emulator"
)

// virtualClock is both the job's clock and the sandbox's: Sleep moves time
// forward at once, so a half-hour task runs in milliseconds.
type virtualClock struct {
	mu  sync.Mutex
	now time.Time
}

func newVirtualClock() *virtualClock {
	return &virtualClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *virtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *virtualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return nil
}

// sandbox serves an emulator over loopback HTTP.
type sandbox struct {
	*emulator.Server
	url string
}

func newSandbox(t *testing.T, opts ...emulator.Option) *sandbox {
	t.Helper()
	s := emulator.New(append([]emulator.Option{emulator.WithSeed(7)}, opts...)...)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &sandbox{Server: s, url: ts.URL}
}

func (s *sandbox) client(t *testing.T, opts ...ClientOption) *Client {
	t.Helper()
	fast := WithRetry(RetryPolicy{Base: time.Millisecond, MaxWait: 5 * time.Millisecond, Budget: 2 * time.Second})
	c, err := NewClient(s.url, emulator.DefaultAPIKey, "test-user", append([]ClientOption{fast}, opts...)...)
	require.NoError(t, err)
	return c
}

// profileRow is one output row, as plain values for comparison.
type profileRow struct {
	Number, Country, Status string
	WhatsApp                *bool
	Avatar, Category        string
	Gender, Hair            string
	AgeMin, AgeMax          *int16
	TaskID                  string
}

// collect gathers output batches into rows keyed by number.
type collect struct {
	mu   sync.Mutex
	rows map[string]profileRow
	dups []string
	n    int
}

func newCollect() *collect { return &collect{rows: map[string]profileRow{}} }

func (c *collect) out(rec arrow.RecordBatch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	col := func(name string) arrow.Array { return rec.Column(rec.Schema().FieldIndices(name)[0]) }
	str := func(a arrow.Array, i int) string {
		if a.IsNull(i) {
			return ""
		}
		return a.ValueStr(i)
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		r := profileRow{
			Number:   str(col(arrowconv.ColNumber), i),
			Country:  str(col(arrowconv.ColCountry), i),
			Status:   str(col(arrowconv.ColStatus), i),
			Avatar:   str(col(arrowconv.ColAvatar), i),
			Category: str(col(arrowconv.ColCategory), i),
			Gender:   str(col(arrowconv.ColGender), i),
			Hair:     str(col(arrowconv.ColHairColor), i),
			TaskID:   str(col(arrowconv.ColTaskID), i),
		}
		if wa := col(arrowconv.ColWhatsApp).(*array.Boolean); wa.IsValid(i) {
			v := wa.Value(i)
			r.WhatsApp = &v
		}
		if a := col(arrowconv.ColAgeMin).(*array.Int16); a.IsValid(i) {
			v := a.Value(i)
			r.AgeMin = &v
		}
		if a := col(arrowconv.ColAgeMax).(*array.Int16); a.IsValid(i) {
			v := a.Value(i)
			r.AgeMax = &v
		}
		if _, dup := c.rows[r.Number]; dup {
			c.dups = append(c.dups, r.Number)
		}
		c.rows[r.Number] = r
		c.n++
	}
	return nil
}

// wantRow is what the output must say for a number the sandbox knows.
func wantRow(t *testing.T, number string) profileRow {
	t.Helper()
	p := emulator.Profile(number)
	num, err := phonenumbers.Parse(number, "")
	require.NoError(t, err)
	country := phonenumbers.GetRegionCodeForNumber(num)
	if p.Failed {
		return profileRow{Number: number, Country: country, Status: "failed"}
	}
	wa := p.WhatsApp
	r := profileRow{Number: number, Country: country, Status: "checked", WhatsApp: &wa, Avatar: p.Avatar,
		Category: nullWord(p.Category), Gender: nullWord(p.Gender), Hair: nullWord(p.HairColor)}
	switch age := p.Age; {
	case age == "" || age == "unknown":
	case strings.Contains(age, "-"):
		var lo, hi int16
		_, err := fmt.Sscanf(age, "%d-%d", &lo, &hi)
		require.NoError(t, err)
		r.AgeMin, r.AgeMax = &lo, &hi
	default:
		var v int16
		_, err := fmt.Sscanf(age, "%d", &v)
		require.NoError(t, err)
		r.AgeMin, r.AgeMax = &v, &v
	}
	return r
}

func nullWord(s string) string {
	if strings.EqualFold(s, "unknown") {
		return ""
	}
	return s
}

// validNumbers returns n distinct valid E.164 mobile numbers from several
// regions, checked with libphonenumber's full parse.
func validNumbers(t *testing.T, n int) []string {
	t.Helper()
	regions := []string{"CH", "DE", "FR", "GB", "US", "BR", "IN", "NG", "ID", "MX", "IT", "ES", "JP", "ZA", "CA", "JM"}
	seen := map[string]bool{}
	var out []string
	for i := 0; len(out) < n; i++ {
		require.Less(t, i, n*50, "could not make enough valid numbers")
		ex := phonenumbers.GetExampleNumberForType(regions[i%len(regions)], phonenumbers.MOBILE)
		nn := ex.GetNationalNumber()
		nn = nn - nn%10000 + uint64((i*7919+13)%10000)
		ex.NationalNumber = &nn
		if !phonenumbers.IsValidNumber(ex) {
			continue
		}
		e := phonenumbers.Format(ex, phonenumbers.E164)
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}
