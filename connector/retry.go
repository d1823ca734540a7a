package connector

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// createRetryable says which refused creations may be sent again: those
// where the upstream surely created nothing. The contract says so of 500;
// 429 and 503 are refusals at the door. A 502 or 504 comes from a proxy in
// front, which cannot know whether the upstream created the task. A request
// that never left (code 0 with NotSent) is retried by withRetry.
func createRetryable(code int) bool { return code == 429 || code == 500 || code == 503 }

// notSent reports whether a transport error happened before the request
// could leave: the connection was never made (refused, unreachable, a name
// that does not resolve) or its TLS handshake failed.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	return errors.As(err, &dns) || errors.As(err, &cert) || errors.As(err, &rh)
}

// readRetryable says which failed reads may be sent again: any that a retry
// can mend, including those that got no answer at all.
func readRetryable(code int) bool { return code == 0 || code == 429 || code >= 500 }

// createRefused reports whether err from CreateTask means the upstream
// certainly created no task (so the chunk can be uploaded again without
// paying twice): a request that never left, a 4xx refusal, or a 500 or 503,
// which the contract calls free. Anything else (no answer, a 502 or 504 from a proxy, a 200 that does
// not decode, a redirect) leaves it unknown.
func createRefused(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	if ae.NotSent {
		return true
	}
	switch c := ae.StatusCode; {
	case c >= 400 && c < 500:
		return true
	case c == 500 || c == 503:
		return true
	}
	return false
}

// maxRetryAfter bounds a Retry-After, in seconds (a day), whichever its
// form: a number of seconds before it becomes a Duration, which larger
// values would overflow; waits are capped far below.
const maxRetryAfter = 24 * 60 * 60

// parseRetryAfter reads both forms of Retry-After: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(min(s, maxRetryAfter)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter*time.Second) // a date, like seconds, says a day at most
		}
	}
	return 0
}

// RetryPolicy bounds retries of free failures (5xx, 429, transport errors):
// exponential backoff with full jitter, at most MaxWait per wait, a
// Retry-After from the upstream honoured up to MaxWait, and retries of one
// call for Budget in all. Defaults apply field by field: a zero field takes
// the value of DefaultRetryPolicy, never "no wait" or "no retries".
type RetryPolicy struct {
	Base    time.Duration // first backoff ceiling (0: 500 ms)
	MaxWait time.Duration // cap of any one wait (0: 30 s)
	// Budget is how long one call's retries may go on before it fails with
	// the last error (0: 15 min): transient faults are outlasted, a lasting
	// outage stops the run, resumable, saying how long it was tried.
	Budget time.Duration
}

// DefaultRetryPolicy is the retry policy of a new Client.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Base: 500 * time.Millisecond, MaxWait: 30 * time.Second, Budget: 15 * time.Minute}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.Base <= 0 {
		p.Base = d.Base
	}
	if p.MaxWait <= 0 {
		p.MaxWait = d.MaxWait
	}
	p.MaxWait = max(p.MaxWait, p.Base)
	if p.Budget <= 0 {
		p.Budget = d.Budget
	}
	return p
}

// backoff is the wait before retry number n (0-based): full jitter over an
// exponentially growing ceiling, or the server's Retry-After when it is
// longer. p must have its defaults applied.
func (p RetryPolicy) backoff(n int, retryAfter time.Duration) time.Duration {
	ceil := p.Base << min(n, 20)
	if ceil <= 0 || ceil > p.MaxWait {
		ceil = p.MaxWait
	}
	d := time.Duration(rand.Int64N(int64(ceil) + 1))
	if retryAfter > d {
		d = min(retryAfter, p.MaxWait)
	}
	return d
}

// withRetry runs call, retrying the failures retryable admits by status
// code (0: no answer), for the policy's budget. The error of a call that
// ran out of budget says how long it was tried; one stopped by ctx keeps
// the last answer too, so a caller can still tell a refused creation.
func (c *Client) withRetry(ctx context.Context, op, taskID string, retryable func(code int) bool, call func() error) error {
	start := c.clock.Now()
	for n := 0; ; n++ {
		err := call()
		if err == nil {
			return nil
		}
		var ae *APIError
		if !errors.As(err, &ae) {
			return &APIError{Op: op, TaskID: taskID, Err: err}
		}
		c.calls.addError(ae.StatusCode)
		if !(retryable(ae.StatusCode) || ae.NotSent) {
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return &stoppedError{ctx: cerr, last: err}
		}
		wait := c.retry.backoff(n, ae.RetryAfter)
		if spent := c.clock.Now().Sub(start); spent+wait > c.retry.Budget {
			ae.Tries, ae.Spent = n+1, spent
			return err
		}
		if serr := c.clock.Sleep(ctx, wait); serr != nil {
			return &stoppedError{ctx: serr, last: err}
		}
	}
}

// stoppedError is a call whose retries ctx stopped: it is the context's
// error, and it keeps the last answer for errors.As.
type stoppedError struct{ ctx, last error }

func (e *stoppedError) Error() string {
	return e.ctx.Error() + " (while retrying " + e.last.Error() + ")"
}
func (e *stoppedError) Unwrap() []error { return []error{e.ctx, e.last} }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
