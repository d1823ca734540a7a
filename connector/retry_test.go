package connector

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/internal/fuzzseed"
)

func TestPollPolicyDefaultsFieldByField(t *testing.T) {
	// Each field set alone keeps its value; every other field takes its
	// default, so no field left at zero means "no wait".
	d := DefaultPollPolicy()
	cases := map[string]struct {
		set  PollPolicy
		want func(PollPolicy) PollPolicy
	}{
		"Floor":        {PollPolicy{Floor: 7 * time.Second}, func(p PollPolicy) PollPolicy { p.Floor = 7 * time.Second; return p }},
		"Cap":          {PollPolicy{Cap: time.Minute}, func(p PollPolicy) PollPolicy { p.Cap = time.Minute; return p }},
		"PriorRate":    {PollPolicy{PriorRate: 3}, func(p PollPolicy) PollPolicy { p.PriorRate = 3; return p }},
		"Spread":       {PollPolicy{Spread: 10}, func(p PollPolicy) PollPolicy { p.Spread = 10; return p }},
		"Late":         {PollPolicy{Late: 0.2}, func(p PollPolicy) PollPolicy { p.Late = 0.2; return p }},
		"Jitter":       {PollPolicy{Jitter: 0.5}, func(p PollPolicy) PollPolicy { p.Jitter = 0.5; return p }},
		"no Jitter":    {PollPolicy{Jitter: -1}, func(p PollPolicy) PollPolicy { p.Jitter = 0; return p }},
		"ExportMin":    {PollPolicy{ExportMin: time.Minute}, func(p PollPolicy) PollPolicy { p.ExportMin = time.Minute; return p }},
		"no ExportMin": {PollPolicy{ExportMin: -1}, func(p PollPolicy) PollPolicy { p.ExportMin = 0; return p }},
		"Cap below Floor": {PollPolicy{Floor: time.Minute, Cap: time.Second}, func(p PollPolicy) PollPolicy {
			p.Floor, p.Cap = time.Minute, time.Minute
			return p
		}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := c.set.withDefaults()
			require.Equal(t, c.want(d), got)
			// The waits a tracker asks for honour the floor and the cap,
			// from the first answer on.
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			tr := newPollTracker(c.set, 1000, t0, 1)
			tr.observe(&Task{ID: "t", Status: StatusPending, CreatedAt: t0, UpdatedAt: t0}, t0)
			for i := 0; i < 20; i++ {
				now := t0.Add(time.Duration(i) * got.Floor)
				wait := tr.next(now)
				require.GreaterOrEqual(t, wait, got.Floor)
				require.LessOrEqual(t, wait, got.Cap)
				tr.observe(&Task{ID: "t", Status: StatusProcessing, Total: 1000, Success: i * 10, CreatedAt: t0, UpdatedAt: now}, now.Add(wait))
			}
		})
	}
}

func TestPollExportMinIsThePolicys(t *testing.T) {
	// A tiny task at an unbounded speed: the first look comes ExportMin
	// after its creation (plus the allowed lateness), not a fixed 2 s.
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first := func(p PollPolicy) time.Duration {
		p.Floor, p.Jitter, p.PriorRate, p.Spread = time.Millisecond, -1, 1e6, 1
		tr := newPollTracker(p, 1, t0, 1)
		tr.observe(&Task{ID: "t", Status: StatusPending, CreatedAt: t0, UpdatedAt: t0}, t0)
		return tr.next(t0)
	}
	require.Less(t, first(PollPolicy{ExportMin: -1}), 100*time.Millisecond)
	require.GreaterOrEqual(t, first(PollPolicy{}), 2*time.Second)
	require.GreaterOrEqual(t, first(PollPolicy{ExportMin: time.Minute}), time.Minute)
}

func TestRetryPolicyDefaultsFieldByField(t *testing.T) {
	d := DefaultRetryPolicy()
	require.Equal(t, d, RetryPolicy{}.withDefaults())
	require.Equal(t, RetryPolicy{Base: time.Second, MaxWait: d.MaxWait, Budget: d.Budget}, RetryPolicy{Base: time.Second}.withDefaults())
	require.Equal(t, RetryPolicy{Base: d.Base, MaxWait: time.Second, Budget: d.Budget}, RetryPolicy{MaxWait: time.Second}.withDefaults())
	require.Equal(t, RetryPolicy{Base: d.Base, MaxWait: d.MaxWait, Budget: time.Hour}, RetryPolicy{Budget: time.Hour}.withDefaults())
	require.Equal(t, DefaultDownloadPolicy(), DownloadPolicy{}.withDefaults())
	require.Equal(t, 3, DownloadPolicy{Refreshes: 3}.withDefaults().Refreshes)
	// Every wait is within its ceiling, and a Retry-After is honoured up
	// to MaxWait.
	p := d
	for n := 0; n < 40; n++ {
		w := p.backoff(n, 0)
		require.GreaterOrEqual(t, w, time.Duration(0))
		require.LessOrEqual(t, w, p.MaxWait)
	}
	require.Equal(t, 7*time.Second, p.backoff(0, 7*time.Second))
	require.Equal(t, p.MaxWait, p.backoff(0, time.Hour))
}

// FuzzRetryAfter reads arbitrary Retry-After values, seeded from
// testdata/retry-after.txt: never a negative wait or one over a day, and a
// number of seconds read as exactly that (up to a day).
func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range fuzzseed.Strings(f, "testdata/retry-after.txt") {
		f.Add(s)
	}
	f.Add(now.Add(90 * time.Second).Format(http.TimeFormat))
	f.Fuzz(func(t *testing.T, v string) {
		d := parseRetryAfter(v, now)
		if d < 0 || d > maxRetryAfter*time.Second {
			t.Fatalf("wait %s for %q", d, v)
		}
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 && d != time.Duration(min(n, maxRetryAfter))*time.Second {
			t.Fatalf("%q: got %s, want %ds", v, d, n)
		}
		if when, err := http.ParseTime(strings.TrimSpace(v)); err == nil && when.After(now) && when.Before(now.Add(maxRetryAfter*time.Second)) && d != when.Sub(now) {
			t.Fatalf("%q: got %s, want %s", v, d, when.Sub(now))
		}
	})
}

// FuzzAPIErrorBody builds the error of a refused call from arbitrary
// bodies (and Retry-After values), seeded from testdata/error-bodies: the
// API key never in it, one line, the upstream's words cut to 200 bytes and
// still UTF-8 when they were, and the error naming the call and the task.
func FuzzAPIErrorBody(f *testing.F) {
	const key = "sk-live-0123456789"
	for _, s := range fuzzseed.Files(f, "testdata/error-bodies/*") {
		f.Add(string(s.Data), 500)
		f.Add(string(s.Data), 429)
	}
	c := &Client{key: key}
	f.Fuzz(func(t *testing.T, body string, code int) {
		resp := &http.Response{StatusCode: code, Header: http.Header{"Retry-After": {body}}}
		e := c.newAPIError("task status", "t1", resp, []byte(body))
		msg := e.Error()
		if strings.Contains(msg, key) {
			t.Fatalf("the key leaked: %q", msg)
		}
		if half := key[:len(key)/2]; !strings.Contains(strings.ReplaceAll(body, key, ""), half) && strings.Contains(msg, half) {
			t.Fatalf("half the key leaked: %q", msg)
		}
		if strings.ContainsAny(msg, "\n\r") {
			t.Fatalf("the error is not one line: %q", msg)
		}
		if !strings.HasPrefix(msg, "task status t1: ") {
			t.Fatalf("the error does not name the call and task: %q", msg)
		}
		if n := len(strings.TrimSuffix(e.Message, "…")); n > 200 {
			t.Fatalf("message of %d bytes, want at most 200 and an ellipsis", n)
		}
		if utf8.ValidString(body) && !utf8.ValidString(e.Message) {
			t.Fatalf("a message cut inside a character: %q", e.Message)
		}
		if e.RetryAfter < 0 || e.RetryAfter > maxRetryAfter*time.Second {
			t.Fatalf("Retry-After %s", e.RetryAfter)
		}
		if code == 429 && !errors.Is(e, ErrRateLimited) {
			t.Fatalf("a 429 is not ErrRateLimited: %v", e)
		}
	})
}
