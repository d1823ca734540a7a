package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultBaseURL is the upstream's documented base URL.
const DefaultBaseURL = "https://api.ekycpro.com/wa/api/deep"

const defaultPath = "/wa/api/deep"

// Client makes the upstream's three calls: create a task, get a task,
// download a result. Every 200 on create and status is charged by the
// upstream. Safe for concurrent use.
type Client struct {
	base     *url.URL
	key      string // never formatted into an error or a log line
	userID   string
	http     *http.Client
	download *downloader
	local    bool // the API lives on a loopback or private address
	loopback bool // the API is a loopback sandbox: plain http result links are allowed
	retry    RetryPolicy
	calls    *CallCounter
	clock    Clock
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient sets the HTTP client of the API calls (its Timeout is the
// per-call timeout).
func WithHTTPClient(hc *http.Client) ClientOption { return func(c *Client) { c.http = hc } }

// WithRetry sets how transient failures are retried; zero fields keep
// their defaults.
func WithRetry(p RetryPolicy) ClientOption { return func(c *Client) { c.retry = p } }

// WithClock sets the time source of retry waits and budgets (tests use a
// virtual clock); nil means the system clock.
func WithClock(clk Clock) ClientOption { return func(c *Client) { c.clock = clk } }

// WithCallCounter counts the client's calls into cc, so that several clients
// (or a restarted run) can share one tally.
func WithCallCounter(cc *CallCounter) ClientOption { return func(c *Client) { c.calls = cc } }

// NewClient checks and keeps the API's base URL and credentials. A bare host
// ("https://api.example.com") gets the upstream's default path.
func NewClient(baseURL, apiKey, userID string, opts ...ClientOption) (*Client, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	u, err := url.Parse(baseURL)
	if err == nil && u.User != nil {
		// Not echoed: the user info is a credential.
		return nil, errors.New("connector: the API URL must not carry credentials (user:password@); pass the key with --api-key or WADEEP_API_KEY")
	}
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("connector: API URL %q: want https://host[/path]", RedactURL(baseURL))
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("connector: API URL %q: plain http is allowed only for a loopback sandbox; use https", RedactURL(baseURL))
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = defaultPath
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	if apiKey == "" {
		return nil, errors.New("connector: no API key: set --api-key or WADEEP_API_KEY")
	}
	if strings.ContainsFunc(apiKey, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		// A header cannot carry it, so every call would fail as if the
		// network did; said now, and without the key.
		return nil, errors.New("connector: the API key holds a line break or another control character (a key file of two lines?)")
	}
	if userID == "" {
		return nil, errors.New("connector: no user id: set --user-id or WADEEP_USER_ID")
	}
	c := &Client{
		base:   u,
		key:    apiKey,
		userID: userID,
		http:   &http.Client{Timeout: 60 * time.Second},
		calls:  &CallCounter{},
	}
	for _, o := range opts {
		o(c)
	}
	c.retry = c.retry.withDefaults()
	if c.clock == nil {
		c.clock = realClock{}
	}
	// API calls carry the key in X-API-Key, which net/http would forward
	// on a redirect, even to another host or over plain http: follow none.
	hc := *c.http
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &hc
	c.local = isLoopbackHost(u.Hostname()) || isPrivateHost(u.Hostname())
	c.loopback = isLoopbackHost(u.Hostname())
	c.download = newDownloader(c.local, c.loopback)
	return c, nil
}

// BaseURL is the API's base URL as the client uses it.
func (c *Client) BaseURL() string { return c.base.String() }

// Calls is the client's call tally.
func (c *Client) Calls() *CallCounter { return c.calls }

// CreateTask uploads one file of E.164 numbers (one per line) and returns the
// new task. It is charged. A 5xx or 429 answer is retried: the upstream
// creates no task then. A transport error is NOT retried: the request may
// have reached the upstream, and a second try could create (and charge) a
// second task; the error unwraps to ErrTransport so the caller can decide.
//
// Cancelling ctx stops retries but does not cut a request in flight: its
// answer (bounded by the HTTP client's timeout) is what tells whether a task
// was created, and a cut request would leave that unknown.
func (c *Client) CreateTask(ctx context.Context, fileName string, numbers []byte) (*Task, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // nothing sent
	}
	var t *Task
	inFlight := context.WithoutCancel(ctx)
	err := c.withRetry(ctx, "create task", "", createRetryable, func() error {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if err := mw.WriteField("user_id", c.userID); err != nil {
			return err
		}
		fw, err := mw.CreateFormFile("file", fileName)
		if err != nil {
			return err
		}
		fw.Write(numbers)
		if err := mw.Close(); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(inFlight, http.MethodPost, c.base.String()+"/tasks", &body)
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", mw.FormDataContentType())
		t, err = c.doTask(req, "create task", "", c.calls.addCreate)
		return err
	})
	return t, err
}

// Task fetches a task's state. It is charged.
func (c *Client) Task(ctx context.Context, taskID string) (*Task, error) {
	var t *Task
	err := c.withRetry(ctx, "task status", taskID, readRetryable, func() error {
		u := *c.base
		u.Path += "/tasks/" + url.PathEscape(taskID)
		u.RawQuery = url.Values{"user_id": {c.userID}}.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		t, err = c.doTask(req, "task status", taskID, c.calls.addStatus)
		return err
	})
	return t, err
}

// doTask sends a create or status call; charged is called for every 200,
// which the upstream bills whether or not its body makes sense.
func (c *Client) doTask(req *http.Request, op, taskID string, charged func()) (*Task, error) {
	req.Header.Set("X-API-Key", c.key)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &APIError{Op: op, TaskID: taskID, Err: redactURLError(err), NotSent: notSent(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, &APIError{Op: op, TaskID: taskID, Err: redactURLError(err)}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.newAPIError(op, taskID, resp, body)
	}
	charged()
	t, err := decodeTask(body)
	if err != nil {
		// Keep the task id if the answer has one: a created task must not
		// be forgotten because its answer broke the contract elsewhere.
		id := taskID
		if id == "" {
			id = partialTaskID(body)
		}
		return nil, &APIError{Op: op, TaskID: id, StatusCode: resp.StatusCode, Err: ErrProtocol, Message: c.scrub(err.Error())}
	}
	if taskID != "" && t.ID != taskID {
		return nil, &APIError{Op: op, TaskID: taskID, StatusCode: resp.StatusCode, Message: "answer is about task " + c.scrub(t.ID), Err: ErrProtocol}
	}
	return t, nil
}

// newAPIError builds the error of a non-200 answer, keeping the upstream's
// message (from a JSON "error"/"message" field, or the start of the body).
func (c *Client) newAPIError(op, taskID string, resp *http.Response, body []byte) *APIError {
	e := &APIError{Op: op, TaskID: taskID, StatusCode: resp.StatusCode}
	var j struct {
		Error   any    `json:"error"`
		Message string `json:"message"`
		Msg     string `json:"msg"`
	}
	if json.Unmarshal(body, &j) == nil {
		switch {
		case j.Message != "":
			e.Message = j.Message
		case j.Msg != "":
			e.Message = j.Msg
		case j.Error != nil:
			e.Message = fmt.Sprint(j.Error)
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
	}
	// Scrubbed before it is cut short: a cut through the key would leave
	// its first part, which the scrub no longer recognises.
	e.Message = shorten(strings.Join(strings.Fields(c.scrub(e.Message)), " "), 200)
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return e
}

// scrub removes the API key from upstream text before it reaches an error:
// an upstream that echoes the request must not leak it.
func (c *Client) scrub(s string) string {
	if len(c.key) < 6 {
		return s // too short to tell apart from ordinary words; no real key is
	}
	return strings.ReplaceAll(s, c.key, "***")
}

// shorten cuts s to at most n bytes and an ellipsis, at a character
// boundary so that a cut never leaves half a UTF-8 sequence.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
