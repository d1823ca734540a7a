package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var epoch = time.Date(2024, 10, 19, 18, 24, 56, 450567423, time.UTC)

// sandbox is a Server behind a real HTTP listener.
type sandbox struct {
	t      *testing.T
	s      *Server
	srv    *httptest.Server
	clock  *ManualClock
	key    string
	client *http.Client
}

func newSandbox(t *testing.T, opts ...Option) *sandbox {
	t.Helper()
	clk := NewManualClock(epoch)
	s := New(append([]Option{WithClock(clk), WithSeed(1)}, opts...)...)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &sandbox{t: t, s: s, srv: srv, clock: clk, key: DefaultAPIKey, client: srv.Client()}
}

// form builds a create body; a nil file or empty user leaves the field out.
func form(t *testing.T, user string, file []byte) (string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if user != "" {
		require.NoError(t, mw.WriteField("user_id", user))
	}
	if file != nil {
		fw, err := mw.CreateFormFile("file", "input.txt")
		require.NoError(t, err)
		_, err = fw.Write(file)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return mw.FormDataContentType(), &b
}

func (sb *sandbox) createRaw(user string, file []byte) (*http.Response, error) {
	ct, body := form(sb.t, user, file)
	req, err := http.NewRequest(http.MethodPost, sb.srv.URL+BasePath+"/tasks", body)
	require.NoError(sb.t, err)
	req.Header.Set("Content-Type", ct)
	if sb.key != "" {
		req.Header.Set("X-API-Key", sb.key)
	}
	return sb.client.Do(req)
}

func (sb *sandbox) statusRaw(id, user string) (*http.Response, error) {
	u := sb.srv.URL + BasePath + "/tasks/" + id
	if user != "" {
		u += "?user_id=" + url.QueryEscape(user)
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(sb.t, err)
	if sb.key != "" {
		req.Header.Set("X-API-Key", sb.key)
	}
	return sb.client.Do(req)
}

// decode reads a JSON answer and checks its code.
func decode[T any](t *testing.T, resp *http.Response, err error, code int) T {
	t.Helper()
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, code, resp.StatusCode, "body: %s", b)
	require.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
	var v T
	require.NoError(t, json.Unmarshal(b, &v), "body: %s", b)
	return v
}

func (sb *sandbox) create(user string, file []byte) Task {
	resp, err := sb.createRaw(user, file)
	return decode[Task](sb.t, resp, err, http.StatusOK)
}

func (sb *sandbox) status(id, user string) Task {
	resp, err := sb.statusRaw(id, user)
	return decode[Task](sb.t, resp, err, http.StatusOK)
}

// get fetches a URL and reads the whole body, returning the read error too.
func (sb *sandbox) get(u string) (*http.Response, []byte, error) {
	resp, err := sb.client.Get(u)
	require.NoError(sb.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}
