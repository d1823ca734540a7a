package connector

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
)

func TestClientErrors(t *testing.T) {
	sb := newSandbox(t, emulator.WithSpeed(1000), emulator.WithStartDelay(0))
	ctx := context.Background()

	t.Run("wrong key", func(t *testing.T) {
		c, err := NewClient(sb.url, "not-the-key-s3cr3t", "u", WithRetry(RetryPolicy{Base: time.Millisecond, MaxWait: time.Millisecond, Budget: time.Second}), WithClock(newVirtualClock()))
		require.NoError(t, err)
		_, err = c.CreateTask(ctx, "a.txt", []byte("+41798284651\n"))
		require.ErrorIs(t, err, ErrUnauthorized)
		require.ErrorContains(t, err, "401")
		require.ErrorContains(t, err, "--api-key")
		require.NotContains(t, err.Error(), "s3cr3t", "the key must never appear in an error")
		require.Zero(t, sb.Stats().Creates)
	})

	t.Run("400 is not retried", func(t *testing.T) {
		before := sb.Stats().Errors[400]
		c := sb.client(t)
		_, err := c.CreateTask(ctx, "empty.txt", nil)
		require.ErrorIs(t, err, ErrBadRequest)
		require.ErrorContains(t, err, "create task: 400")
		require.Equal(t, before+1, sb.Stats().Errors[400], "exactly one call")
	})

	t.Run("unknown task", func(t *testing.T) {
		_, err := sb.client(t).Task(ctx, "nosuchtask")
		require.ErrorIs(t, err, ErrNotFound)
		require.ErrorContains(t, err, "nosuchtask")
	})

	t.Run("5xx is retried", func(t *testing.T) {
		flaky := newSandbox(t, emulator.WithFault(emulator.Fault{Kind: emulator.Fault500, On: emulator.OnCreate, First: 2}))
		c := flaky.client(t)
		task, err := c.CreateTask(ctx, "a.txt", []byte("+41798284651\n"))
		require.NoError(t, err)
		require.Equal(t, StatusPending, task.Status)
		require.Equal(t, 1, flaky.Stats().Creates)
		require.EqualValues(t, 2, c.Calls().Snapshot().Errors)
	})

	t.Run("402 says what to do", func(t *testing.T) {
		broke := newSandbox(t, emulator.WithBalance(0))
		_, err := broke.client(t).CreateTask(ctx, "a.txt", []byte("+41798284651\n"))
		require.ErrorIs(t, err, ErrPayment)
		require.ErrorContains(t, err, "balance")
	})
}

func TestClientUnknownStatus(t *testing.T) {
	// The sandbox follows the contract, so a status outside it needs a server
	// of its own.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"task_id":"t1","status":"archived","total":3}`))
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, "k", "u")
	require.NoError(t, err)
	_, err = c.Task(context.Background(), "t1")
	require.ErrorIs(t, err, ErrProtocol)
	require.ErrorContains(t, err, `unknown status "archived"`)
}

func TestClientBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                            DefaultBaseURL,
		"https://api.example.com":     "https://api.example.com/wa/api/deep",
		"https://api.example.com/":    "https://api.example.com/wa/api/deep",
		"https://api.example.com/v2/": "https://api.example.com/v2",
		"http://127.0.0.1:8080":       "http://127.0.0.1:8080/wa/api/deep",
	} {
		c, err := NewClient(in, "k", "u")
		require.NoError(t, err, in)
		require.Equal(t, want, c.BaseURL(), in)
	}
	_, err := NewClient("http://api.example.com", "k", "u")
	require.ErrorContains(t, err, "plain http")
	_, err = NewClient("ftp://x", "k", "u")
	require.ErrorContains(t, err, "want https")
}

func TestDownloadRefusesLocalLinks(t *testing.T) {
	// An API on a public host must not be able to send the client to a
	// loopback or private address through result_url. Something listens
	// there, so only the guard can be what refuses: no connection arrives.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conn.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	c, err := NewClient("https://api.example.com", "k", "u")
	require.NoError(t, err)
	var buf bytes.Buffer
	for _, link := range []string{fmt.Sprintf("https://127.0.0.1:%d/r.xlsx", port), fmt.Sprintf("https://localhost:%d/r.xlsx", port)} {
		_, err := c.Download(context.Background(), "t", link, &buf)
		require.ErrorContains(t, err, "local address", link)
	}
	_, err = c.Download(context.Background(), "t", "http://api.example.com/r.xlsx", &buf)
	require.ErrorContains(t, err, "want https")
	require.Zero(t, accepted.Load(), "no connection reached the local address")
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	require.Equal(t, 3*time.Second, parseRetryAfter("3", now))
	require.Equal(t, 90*time.Second, parseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now))
	require.Zero(t, parseRetryAfter("soon", now))
	require.Zero(t, parseRetryAfter("-5", now))
}

func TestRedactURL(t *testing.T) {
	require.Equal(t, "https://x.example/r.xlsx?REDACTED", RedactURL("https://user:pw@x.example/r.xlsx?sig=abc&exp=1"))
}

func TestClientKeepsTheKeyHome(t *testing.T) {
	const key = "key-7d1e-very-secret"
	var leaked atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != "" {
			leaked.Store(true)
		}
	}))
	defer elsewhere.Close()
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusFound)
	}))
	defer redirecting.Close()
	c, err := NewClient(redirecting.URL, key, "u")
	require.NoError(t, err)
	_, err = c.Task(context.Background(), "t1")
	require.ErrorIs(t, err, ErrProtocol, "a redirect is not followed")
	require.False(t, leaked.Load(), "the key never goes to another host")

	echoing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":"key %s is not valid"}`, r.Header.Get("X-API-Key"))
	}))
	defer echoing.Close()
	c, err = NewClient(echoing.URL, key, "u")
	require.NoError(t, err)
	_, err = c.Task(context.Background(), "t1")
	require.ErrorIs(t, err, ErrUnauthorized)
	require.NotContains(t, err.Error(), key)
	require.ErrorContains(t, err, "key *** is not valid")

	_, err = NewClient("https://me:pa55word@api.example.com", key, "u")
	require.ErrorContains(t, err, "must not carry credentials")
	require.NotContains(t, err.Error(), "pa55word")

	// A long page that repeats the key where its message is cut short (200
	// characters): none of the key is left before the cut.
	page := strings.Repeat("x", 190) + " "
	echoingLong := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, page+r.Header.Get("X-API-Key")+" was refused")
	}))
	defer echoingLong.Close()
	c, err = NewClient(echoingLong.URL, key, "u")
	require.NoError(t, err)
	_, err = c.Task(context.Background(), "t1")
	require.ErrorIs(t, err, ErrBadRequest)
	require.ErrorContains(t, err, page+"*** was")
	require.NotContains(t, err.Error(), key[:8])
}

func TestCreateRetriesOnlyWhenNothingWasCreated(t *testing.T) {
	for code, retried := range map[int]bool{500: true, 503: true, 429: true, 502: false, 504: false, 400: false} {
		var posts atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			posts.Add(1)
			w.WriteHeader(code)
		}))
		c, err := NewClient(srv.URL, "key-123456", "u", WithRetry(RetryPolicy{Base: time.Millisecond, MaxWait: time.Millisecond, Budget: time.Second}), WithClock(newVirtualClock()))
		require.NoError(t, err)
		_, err = c.CreateTask(context.Background(), "a.txt", []byte("+41798284651\n"))
		require.Error(t, err)
		if retried {
			require.Greater(t, posts.Load(), int64(1), "status %d is retried", code)
		} else {
			require.Equal(t, int64(1), posts.Load(), "status %d is not retried", code)
		}
		require.Equal(t, code != 502 && code != 504, createRefused(err), "status %d", code)
		srv.Close()
	}
}

func TestCreateNeverSentIsRefused(t *testing.T) {
	// Nothing listens there: the request cannot leave, so the chunk is
	// safe to upload again later, not a lost creation.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	c, err := NewClient("http://"+addr, "key-123456", "u", WithRetry(RetryPolicy{Base: time.Millisecond, MaxWait: time.Millisecond, Budget: time.Second}), WithClock(newVirtualClock()))
	require.NoError(t, err)
	_, err = c.CreateTask(context.Background(), "a.txt", []byte("+41798284651\n"))
	require.ErrorIs(t, err, ErrTransport)
	require.True(t, createRefused(err), "%v", err)
	require.Greater(t, c.Calls().Snapshot().Errors, int64(1), "a request that never left is retried")
}

// TestKeyWithLineBreakRefused: a key that no header can carry (a key file
// of two lines) is refused when the client is made, without echoing it.
func TestKeyWithLineBreakRefused(t *testing.T) {
	for _, key := range []string{"first-line\nsecond-line", "key\r", "k\x00ey"} {
		_, err := NewClient("http://127.0.0.1:1", key, "u")
		require.ErrorContains(t, err, "line break or another control character")
		require.NotContains(t, err.Error(), "line\n")
		require.NotContains(t, err.Error(), key)
	}
	_, err := NewClient("http://127.0.0.1:1", "a-fine-key", "u")
	require.NoError(t, err)
}

// TestLocalAddresses: the addresses a result link may not lead to.
func TestLocalAddresses(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "fe80::1",
		"0.0.0.0", "0.1.2.3", "::", "100.64.0.1", "100.127.255.254", "224.0.0.1", "ff02::1", "fd00::1", "::ffff:127.0.0.1"} {
		require.True(t, isLocalIP(net.ParseIP(a)), a)
	}
	for _, a := range []string{"8.8.8.8", "100.63.255.255", "100.128.0.1", "2a00:1450:4001::1", "1.1.1.1"} {
		require.False(t, isLocalIP(net.ParseIP(a)), a)
	}
}

// TestPlainHTTPLinksOnlyForALoopbackSandbox: an http result link is taken
// only from an API on loopback (the sandbox), not from one on a private
// address, which is https like the vendor's.
func TestPlainHTTPLinksOnlyForALoopbackSandbox(t *testing.T) {
	link, err := url.Parse("http://10.0.0.2/result.xlsx?sig=x")
	require.NoError(t, err)
	private, err := NewClient("https://10.0.0.1/wa/api/deep", "k", "u")
	require.NoError(t, err)
	require.ErrorContains(t, checkResultURL(link, private.loopback), "want https")
	sandbox, err := NewClient("http://127.0.0.1:8080", "k", "u")
	require.NoError(t, err)
	require.NoError(t, checkResultURL(link, sandbox.loopback))
}
