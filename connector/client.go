package connector

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
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
	retry    RetryPolicy
	calls    *CallCounter
	sleep    func(context.Context, time.Duration) error
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient sets the HTTP client of the API calls (its Timeout is the
// per-call timeout).
func WithHTTPClient(hc *http.Client) ClientOption { return func(c *Client) { c.http = hc } }

// WithRetry sets how transient failures are retried.
func WithRetry(p RetryPolicy) ClientOption { return func(c *Client) { c.retry = p } }

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
	if userID == "" {
		return nil, errors.New("connector: no user id: set --user-id or WADEEP_USER_ID")
	}
	c := &Client{
		base:   u,
		key:    apiKey,
		userID: userID,
		http:   &http.Client{Timeout: 60 * time.Second},
		retry:  DefaultRetry,
		calls:  &CallCounter{},
		sleep:  sleepCtx,
	}
	for _, o := range opts {
		o(c)
	}
	// API calls carry the key in X-API-Key, which net/http would forward
	// on a redirect, even to another host or over plain http: follow none.
	hc := *c.http
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &hc
	c.local = isLoopbackHost(u.Hostname()) || isPrivateHost(u.Hostname())
	c.download = newDownloader(c.local)
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

// CreateRefused reports whether err from CreateTask means the upstream
// certainly created no task (so the chunk can be uploaded again without
// paying twice): a request that never left, a 4xx refusal, or a 500 or 503,
// which the contract calls free. Anything else (no answer, a 502 or 504 from a proxy, a 200 that does
// not decode, a redirect) leaves it unknown.
func CreateRefused(err error) bool {
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
	e.Message = c.scrub(shorten(strings.Join(strings.Fields(e.Message), " "), 200))
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

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

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
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// RetryPolicy bounds retries of transient failures (5xx, 429, transport):
// exponential backoff with full jitter, at most MaxWait per wait, and a
// Retry-After from the upstream honoured up to MaxWait.
type RetryPolicy struct {
	Attempts int           // tries in all, the first included
	Base     time.Duration // first backoff ceiling
	MaxWait  time.Duration // cap of any one wait
}

// DefaultRetry is the retry policy of a new Client.
var DefaultRetry = RetryPolicy{Attempts: 6, Base: 500 * time.Millisecond, MaxWait: 30 * time.Second}

// backoff is the wait before retry number n (0-based): full jitter over an
// exponentially growing ceiling, or the server's Retry-After when it is longer.
func (p RetryPolicy) backoff(n int, retryAfter time.Duration) time.Duration {
	if p.Base <= 0 {
		p.Base = DefaultRetry.Base
	}
	if p.MaxWait <= 0 {
		p.MaxWait = DefaultRetry.MaxWait
	}
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
// code (0: no answer).
func (c *Client) withRetry(ctx context.Context, op, taskID string, retryable func(code int) bool, call func() error) error {
	attempts := max(c.retry.Attempts, 1)
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
		if !(retryable(ae.StatusCode) || ae.NotSent) || n+1 >= attempts || ctx.Err() != nil {
			return err
		}
		if err := c.sleep(ctx, c.retry.backoff(n, ae.RetryAfter)); err != nil {
			return err
		}
	}
}

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

// redactURLError strips the query string from the URL a *url.Error carries:
// result links are signed, and their signatures are secrets.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: RedactURL(ue.URL), Err: ue.Err}
	}
	return err
}

// RedactURL drops the query and user info of a URL, for logs and errors.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "REDACTED"
	}
	u.Fragment = ""
	return u.String()
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isPrivateHost(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsPrivate() || ip.IsLinkLocalUnicast())
}

// downloader fetches result links, which are untrusted: it refuses to
// connect to loopback, private or link-local addresses (after DNS, so a name
// cannot point there) unless the API itself lives there. Without a proxy the
// check runs on the address dialled; through a proxy (from the environment)
// the link's host is resolved and checked before the request.
type downloader struct {
	direct, proxied *http.Client
	allowLocal      bool
}

func newDownloader(allowLocal bool) *downloader {
	d := &downloader{allowLocal: allowLocal}
	dialer := &net.Dialer{Timeout: 30 * time.Second}
	if !allowLocal {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || isLocalIP(ip) {
				return fmt.Errorf("result link points at a local address %s", host)
			}
			return nil
		}
	}
	direct := http.DefaultTransport.(*http.Transport).Clone()
	direct.Proxy = nil
	direct.DialContext = dialer.DialContext
	proxied := http.DefaultTransport.(*http.Transport).Clone()
	proxied.Proxy = http.ProxyFromEnvironment
	redirect := func(resolve bool) func(*http.Request, []*http.Request) error {
		return func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			if err := checkResultURL(req.URL, allowLocal); err != nil {
				return err
			}
			if resolve {
				return d.checkResolved(req)
			}
			return nil
		}
	}
	d.direct = &http.Client{Transport: direct, Timeout: 30 * time.Minute, CheckRedirect: redirect(false)}
	d.proxied = &http.Client{Transport: proxied, Timeout: 30 * time.Minute, CheckRedirect: redirect(true)}
	return d
}

func (d *downloader) do(req *http.Request) (*http.Response, error) {
	if p, err := http.ProxyFromEnvironment(req); err != nil || p == nil {
		return d.direct.Do(req)
	}
	if err := d.checkResolved(req); err != nil {
		return nil, err
	}
	return d.proxied.Do(req)
}

// checkResolved refuses a link whose host resolves to a local address.
func (d *downloader) checkResolved(req *http.Request) error {
	if d.allowLocal {
		return nil
	}
	host := req.URL.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		if isLocalIP(ip) {
			return fmt.Errorf("result link points at a local address %s", host)
		}
		return nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(req.Context(), host)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if isLocalIP(a.IP) {
			return fmt.Errorf("result link host %s resolves to a local address %s", host, a.IP)
		}
	}
	return nil
}

func isLocalIP(ip net.IP) bool {
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()
}

// checkResultURL enforces https (http only when the API is local).
func checkResultURL(u *url.URL, allowLocal bool) error {
	if u.Scheme == "https" || (u.Scheme == "http" && allowLocal) {
		return nil
	}
	return fmt.Errorf("result link %s: want https", RedactURL(u.String()))
}

// MaxResultBytes bounds a downloaded result file; the upstream's largest,
// a 1M-number task, is ~30 MB.
const MaxResultBytes = 1 << 30

// Download fetches a task's result into w and returns the bytes written.
// It is not charged. The link is untrusted (see newDownloadClient); a 403 or
// 404 means it expired and unwraps to ErrForbidden or ErrNotFound.
func (c *Client) Download(ctx context.Context, taskID, resultURL string, w io.Writer) (int64, error) {
	op := "download result"
	u, err := url.Parse(resultURL)
	if err != nil {
		return 0, &APIError{Op: op, TaskID: taskID, Err: fmt.Errorf("%w: unparsable result link", ErrProtocol)}
	}
	if err := checkResultURL(u, c.local); err != nil {
		return 0, &APIError{Op: op, TaskID: taskID, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, &APIError{Op: op, TaskID: taskID, Err: err}
	}
	resp, err := c.download.do(req)
	if err != nil {
		c.calls.addError(0)
		return 0, &APIError{Op: op, TaskID: taskID, Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The body of a refused link is not quoted: it comes from whatever
		// host the link named.
		c.calls.addError(resp.StatusCode)
		return 0, &APIError{Op: op, TaskID: taskID, StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, MaxResultBytes+1))
	switch {
	case err == nil && n > MaxResultBytes:
		c.calls.addError(0)
		return n, &APIError{Op: op, TaskID: taskID, Err: fmt.Errorf("%w: the result file is over %d bytes", ErrProtocol, int64(MaxResultBytes))}
	case err == nil && resp.ContentLength >= 0 && n != resp.ContentLength:
		err = fmt.Errorf("got %d of %d bytes", n, resp.ContentLength)
	}
	if err != nil {
		c.calls.addError(0)
		return n, &APIError{Op: op, TaskID: taskID, Err: fmt.Errorf("%w: download cut: %v", ErrTransport, redactURLError(err))}
	}
	c.calls.addDownload()
	return n, nil
}
