package connector

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sentinel errors; an *APIError unwraps to the one its status code stands for.
var (
	ErrBadRequest   = errors.New("bad request")         // 400: the upload or a parameter was refused; never retried
	ErrUnauthorized = errors.New("unauthorized")        // 401: the API key or user id was refused
	ErrPayment      = errors.New("payment required")    // 402: the account's balance is used up
	ErrNotFound     = errors.New("not found")           // 404: no such task for this user
	ErrForbidden    = errors.New("forbidden")           // 403: typically an expired result link
	ErrRateLimited  = errors.New("rate limited")        // 429
	ErrServer       = errors.New("server error")        // 5xx: "retry later"
	ErrTransport    = errors.New("transport error")     // no HTTP answer (connection, timeout)
	ErrProtocol     = errors.New("unexpected response") // an answer that breaks the contract
)

// APIError is a refused call to the upstream. It never holds the API key.
type APIError struct {
	Op         string        // "create task", "task status", "download result"
	TaskID     string        // when the call was about one task
	StatusCode int           // HTTP status; 0 for a transport error
	Message    string        // the upstream's own words, shortened
	RetryAfter time.Duration // from a Retry-After header, if any
	Err        error         // the underlying cause for transport errors
	// NotSent is set on a transport error that happened before any byte of
	// the request left (no connection could be made): the upstream never
	// saw it.
	NotSent bool
	// Tries and Spent are set when retries ran out of budget: how many
	// calls were made, over how long.
	Tries int
	Spent time.Duration
}

func (e *APIError) Error() string {
	s := e.Op // callers wrap it with where it happened
	if e.TaskID != "" {
		s += " " + e.TaskID
	}
	if e.StatusCode == 0 {
		return fmt.Sprintf("%s: %v%s", s, e.Err, e.gaveUp())
	}
	s += fmt.Sprintf(": %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		s += ": " + e.Message
	}
	if hint := e.hint(); hint != "" {
		s += " (" + hint + ")"
	}
	return s + e.gaveUp()
}

func (e *APIError) gaveUp() string {
	if e.Tries <= 1 {
		return ""
	}
	return fmt.Sprintf("; gave up after %d tries over %s", e.Tries, e.Spent.Round(time.Second))
}

// hint says what the user can do about the error.
func (e *APIError) hint() string {
	switch e.StatusCode {
	case 401:
		return "check --api-key / WADEEP_API_KEY and --user-id"
	case 402:
		return "top up the account's balance, then rerun the same command: finished work is kept"
	case 400:
		return "the upstream refused the request; it is not retried"
	}
	return ""
}

// Unwrap gives the sentinel for the status code, and the cause.
func (e *APIError) Unwrap() []error {
	var kind error
	switch {
	case e.StatusCode == 0:
		kind = ErrTransport
	case e.StatusCode == 400:
		kind = ErrBadRequest
	case e.StatusCode == 401:
		kind = ErrUnauthorized
	case e.StatusCode == 402:
		kind = ErrPayment
	case e.StatusCode == 403:
		kind = ErrForbidden
	case e.StatusCode == 404, e.StatusCode == 410:
		kind = ErrNotFound
	case e.StatusCode == 429:
		kind = ErrRateLimited
	case e.StatusCode >= 500:
		kind = ErrServer
	default:
		kind = ErrProtocol
	}
	if e.Err != nil {
		return []error{kind, e.Err}
	}
	return []error{kind}
}
