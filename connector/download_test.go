package connector

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/emulator"
)

// cancelOnWrite cancels a context at the first bytes it is given.
type cancelOnWrite struct{ cancel context.CancelFunc }

func (w cancelOnWrite) Write(p []byte) (int, error) { w.cancel(); return len(p), nil }

func TestDownloadStoppedByTheCallerIsNotACut(t *testing.T) {
	// Half a file, then nothing until the client goes: a download that the
	// caller stops (Ctrl-C) midway is an interruption, not a cut transfer.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write(make([]byte, 500))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, emulator.DefaultAPIKey, "u")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = c.Download(ctx, "t1", srv.URL+"/results/t1.xlsx", cancelOnWrite{cancel})
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "download result t1: download stopped")
	require.Zero(t, c.Calls().Snapshot().Errors, "not a failed call")
}
