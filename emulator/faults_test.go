package emulator

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// statusCodes makes n status calls and returns their codes.
func (sb *sandbox) statusCodes(id string, n int) []int {
	codes := make([]int, n)
	for i := range codes {
		resp, err := sb.statusRaw(id, "u")
		require.NoError(sb.t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes[i] = resp.StatusCode
	}
	return codes
}

func count(codes []int, code int) int {
	n := 0
	for _, c := range codes {
		if c == code {
			n++
		}
	}
	return n
}

func TestFault500Rate(t *testing.T) {
	const calls = 400
	run := func(seed uint64) ([]int, Stats) {
		sb := newSandbox(t, WithSeed(seed), WithFault500(0.3, OnStatus))
		task := sb.create("u", []byte("+41798284651\n")) // creates are not aimed at
		return sb.statusCodes(task.TaskID, calls), sb.s.Stats()
	}
	codes, stats := run(42)
	n500 := count(codes, http.StatusInternalServerError)
	require.InDelta(t, 0.3*calls, n500, 0.1*calls)
	require.Equal(t, calls, n500+count(codes, http.StatusOK))
	require.Equal(t, calls-n500, stats.StatusCalls)
	require.Equal(t, 1+calls-n500, stats.Charged)
	require.Equal(t, n500, stats.Errors[http.StatusInternalServerError])

	again, _ := run(42)
	require.Equal(t, codes, again, "the same seed gives the same faults")
	other, _ := run(43)
	require.NotEqual(t, codes, other)
}

func TestFault429(t *testing.T) {
	sb := newSandbox(t, WithFault429(0.5))
	task := func() Task {
		for {
			resp, err := sb.createRaw("u", []byte("+41798284651\n"))
			require.NoError(t, err)
			if resp.StatusCode == http.StatusOK {
				return decode[Task](t, resp, err, http.StatusOK)
			}
			resp.Body.Close()
		}
	}()

	var seconds, dates int
	for range 100 {
		resp, err := sb.statusRaw(task.TaskID, "u")
		require.NoError(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests {
			require.Equal(t, http.StatusOK, resp.StatusCode)
			continue
		}
		ra := resp.Header.Get("Retry-After")
		if n, err := strconv.Atoi(ra); err == nil {
			require.Equal(t, 1, n)
			seconds++
			continue
		}
		at, err := http.ParseTime(ra)
		require.NoError(t, err, "Retry-After %q", ra)
		date, err := http.ParseTime(resp.Header.Get("Date"))
		require.NoError(t, err)
		require.Equal(t, epoch.Truncate(time.Second), date, "Date follows the sandbox clock")
		require.Equal(t, time.Second, at.Sub(date))
		dates++
	}
	require.InDelta(t, 50, seconds+dates, 15)
	require.Positive(t, seconds)
	require.Positive(t, dates)

	t.Run("custom wait", func(t *testing.T) {
		sb := newSandbox(t, WithFault(Fault{Kind: Fault429, On: OnCreate, First: 1, Delay: 2500 * time.Millisecond}))
		resp, err := sb.createRaw("u", []byte("+41798284651\n"))
		decode[errorBody](t, resp, err, http.StatusTooManyRequests)
		ra := resp.Header.Get("Retry-After")
		if n, err := strconv.Atoi(ra); err == nil {
			require.Equal(t, 3, n)
		} else {
			at, err := http.ParseTime(ra)
			require.NoError(t, err)
			require.Equal(t, epoch.Truncate(time.Second).Add(3*time.Second), at)
		}
		sb.create("u", []byte("+41798284651\n"))
	})
}

func TestFaultFirst(t *testing.T) {
	sb := newSandbox(t, WithFault(Fault{Kind: Fault500, On: OnStatus, First: 2}))
	task := sb.create("u", []byte("+41798284651\n"))
	require.Equal(t, []int{500, 500, 200, 200}, sb.statusCodes(task.TaskID, 4))
}

func exportedTask(t *testing.T, sb *sandbox, file string) Task {
	t.Helper()
	task := sb.create("u", []byte(file))
	sb.clock.Advance(time.Hour)
	st := sb.status(task.TaskID, "u")
	require.Equal(t, StatusExported, st.Status)
	return st
}

func TestCutDownloads(t *testing.T) {
	sb := newSandbox(t, WithCutDownloads(1))
	for _, file := range []string{"+41798284651\n+41798284652\n", "+41798284653\n"} {
		st := exportedTask(t, sb, file)

		resp, body, err := sb.get(st.ResultURL)
		require.ErrorIs(t, err, io.ErrUnexpectedEOF)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Positive(t, resp.ContentLength)
		require.Less(t, int64(len(body)), resp.ContentLength)

		resp, body, err = sb.get(st.ResultURL)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.EqualValues(t, resp.ContentLength, len(body))
		require.Equal(t, ResultHeader(), readXLSX(t, body)[0])
	}
	stats := sb.s.Stats()
	require.Equal(t, 2, stats.CutDownloads)
	require.Equal(t, 2, stats.Downloads)
	require.Equal(t, 2+2, stats.Charged, "downloads are not charged")
}

func TestLinkTTL(t *testing.T) {
	sb := newSandbox(t, WithLinkTTL(time.Minute))
	st := exportedTask(t, sb, "+41798284651\n")

	resp, _, err := sb.get(st.ResultURL)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	sb.clock.Advance(time.Minute)
	resp, body, err := sb.get(st.ResultURL)
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Contains(t, string(body), "expired")

	fresh := sb.status(st.TaskID, "u")
	require.NotEqual(t, st.ResultURL, fresh.ResultURL)
	resp, _, err = sb.get(fresh.ResultURL)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// A link cannot be stretched by editing its expiry.
	u, err := url.Parse(fresh.ResultURL)
	require.NoError(t, err)
	exp, mac, ok := strings.Cut(u.Query().Get("token"), ".")
	require.True(t, ok)
	n, err := strconv.ParseInt(exp, 10, 64)
	require.NoError(t, err)
	u.RawQuery = url.Values{"token": {strconv.FormatInt(n+int64(time.Hour), 10) + "." + mac}}.Encode()
	resp, _, err = sb.get(u.String())
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

func TestLostCreate(t *testing.T) {
	sb := newSandbox(t, WithLostCreates(1))
	resp, err := sb.createRaw("u", []byte("+41798284651\n"))
	decode[errorBody](t, resp, err, http.StatusInternalServerError)

	tasks := sb.s.Tasks()
	require.Len(t, tasks, 1, "the task exists although its answer was lost")
	st := sb.status(tasks[0].TaskID, "u")
	require.Equal(t, StatusPending, st.Status)
	stats := sb.s.Stats()
	require.Equal(t, 1, stats.Creates)
	require.Equal(t, 1, stats.LostCreates)
	require.Equal(t, 2, stats.Charged)
}

func TestDropCreateOncePerFile(t *testing.T) {
	sb := newSandbox(t, WithFault(Fault{Kind: FaultDropCreate, First: 1, EachTask: true}))
	_, err := sb.createRaw("u", []byte("+41798284651\n"))
	require.Error(t, err, "the connection is dropped without an answer")
	sb.create("u", []byte("+41798284651\n"))
	_, err = sb.createRaw("u", []byte("+41798284652\n"))
	require.Error(t, err)

	stats := sb.s.Stats()
	require.Equal(t, 3, stats.Creates)
	require.Equal(t, 2, stats.LostCreates)
	require.Equal(t, 1, stats.DuplicateFiles)
	require.Empty(t, stats.Errors)
}

func TestLatency(t *testing.T) {
	sb := newSandbox(t, WithLatency(5*time.Second, 1, OnStatus))
	task := sb.create("u", []byte("+41798284651\n"))
	sb.client = &http.Client{Timeout: 100 * time.Millisecond}
	start := time.Now()
	_, err := sb.statusRaw(task.TaskID, "u")
	require.Error(t, err)
	require.Less(t, time.Since(start), 2*time.Second)
	require.Zero(t, sb.s.Stats().StatusCalls)
}
