package emulator

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func (sb *sandbox) statsRoute() Stats {
	resp, err := sb.client.Get(sb.srv.URL + StatsPath)
	return decode[Stats](sb.t, resp, err, http.StatusOK)
}

// TestStatsRoute reads the counters over HTTP: the answer is Stats, and
// asking (even wrongly, even under injected faults) changes nothing.
func TestStatsRoute(t *testing.T) {
	sb := newSandbox(t)
	file := []byte("+41798284651\n+41798284652\n+41798284651\n")
	a := sb.create("u", file)
	sb.create("u", file)
	sb.status(a.TaskID, "u")
	resp, err := sb.statusRaw("nope", "u")
	decode[errorBody](t, resp, err, http.StatusNotFound)

	want := sb.s.Stats()
	require.Equal(t, Stats{Creates: 2, StatusCalls: 1, Charged: 3, Errors: map[int]int{404: 1}, DuplicateUploads: 4, DuplicateFiles: 1}, want)
	for range 3 {
		require.Equal(t, want, sb.statsRoute())
	}
	resp, err = sb.client.Post(sb.srv.URL+StatsPath, "text/plain", strings.NewReader("x"))
	require.Equal(t, "method not allowed", decode[errorBody](t, resp, err, http.StatusMethodNotAllowed).Error)
	require.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
	resp, err = sb.client.Head(sb.srv.URL + StatsPath)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, want, sb.s.Stats(), "the route is neither charged nor counted")

	// Not under the API's path: the API's routes there stay unknown.
	resp, err = sb.client.Get(sb.srv.URL + BasePath + StatsPath)
	decode[errorBody](t, resp, err, http.StatusNotFound)

	faulty := newSandbox(t, WithFault500(1))
	resp, err = faulty.statusRaw("x", "u")
	decode[errorBody](t, resp, err, http.StatusInternalServerError)
	require.Equal(t, Stats{Errors: map[int]int{500: 1}}, faulty.statsRoute(), "faults leave the route alone")
}
