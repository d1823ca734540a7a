package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// numbers returns n distinct well-formed numbers.
func numbers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("+4179%07d", 1000000+i*7919)
	}
	return out
}

// readXLSX parses a result file into rows of exactly the header's width.
func readXLSX(t *testing.T, body []byte) [][]string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(body))
	require.NoError(t, err)
	defer f.Close()
	require.Equal(t, []string{ResultSheet}, f.GetSheetList())
	rows, err := f.GetRows(ResultSheet)
	require.NoError(t, err)
	for i := range rows {
		for len(rows[i]) < len(resultHeader) {
			rows[i] = append(rows[i], "")
		}
	}
	return rows
}

func wantRow(p Result) []string {
	wa := "no"
	if p.WhatsApp {
		wa = "yes"
	}
	return []string{p.Number, wa, p.Avatar, p.Age, p.Category, p.Gender, p.HairColor}
}

func TestLifecycle(t *testing.T) {
	sb := newSandbox(t,
		WithSpeed(10), WithStartDelay(10*time.Second), WithExportDelay(5*time.Second),
		WithFailureRate(0.2))

	nums := numbers(40)
	lines := append([]string{}, nums[:20]...)
	lines = append(lines, "", "  not-a-number  ", "+12") // blank and malformed lines
	lines = append(lines, nums[20:]...)
	file := []byte(strings.Join(lines, "\r\n") + "\r\n")
	processed := append(append(append([]string{}, nums[:20]...), "not-a-number", "+12"), nums[20:]...)
	total := len(processed)
	failing := 0
	for _, l := range processed {
		if sb.s.Profile(l).Failed {
			failing++
		}
	}
	require.Positive(t, failing)
	require.Less(t, failing, total)

	created := sb.create("test", file)
	require.Regexp(t, regexp.MustCompile(`^[0-9a-v]{20}$`), created.TaskID)
	require.Equal(t, Task{CreatedAt: epoch, UpdatedAt: epoch, TaskID: created.TaskID, UserID: "test", Status: StatusPending}, created)

	// Timestamps are RFC 3339 in UTC with nanoseconds, like the contract's.
	resp, err := sb.statusRaw(created.TaskID, "test")
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&raw))
	resp.Body.Close()
	require.Equal(t, "2024-10-19T18:24:56.450567423Z", raw["created_at"])
	require.Equal(t, "pending", raw["status"])
	require.EqualValues(t, 0, raw["total"])
	require.NotContains(t, raw, "result_url")

	sb.clock.Advance(9 * time.Second)
	require.Equal(t, StatusPending, sb.status(created.TaskID, "test").Status)

	sb.clock.Advance(time.Second)
	st := sb.status(created.TaskID, "test")
	require.Equal(t, StatusProcessing, st.Status)
	require.Equal(t, total, st.Total)
	require.Zero(t, st.Success+st.Failure)

	last := st
	for range 4 {
		sb.clock.Advance(900 * time.Millisecond)
		st = sb.status(created.TaskID, "test")
		require.Equal(t, StatusProcessing, st.Status)
		require.Greater(t, st.Success+st.Failure, last.Success+last.Failure)
		require.True(t, st.UpdatedAt.After(last.UpdatedAt))
		require.False(t, st.UpdatedAt.After(sb.clock.Now()))
		require.Empty(t, st.ResultURL)
		last = st
	}
	done := st.Success + st.Failure
	require.Equal(t, 36, done) // 3.6 s at 10 numbers per second
	wantFail := 0
	for _, l := range processed[:done] {
		if sb.s.Profile(l).Failed {
			wantFail++
		}
	}
	require.Equal(t, wantFail, st.Failure)

	sb.clock.Advance(time.Duration(total) * 100 * time.Millisecond)
	st = sb.status(created.TaskID, "test")
	require.Equal(t, StatusCompleted, st.Status)
	require.Equal(t, total, st.Success+st.Failure)
	require.Equal(t, failing, st.Failure)
	require.Empty(t, st.ResultURL)

	sb.clock.Advance(5 * time.Second)
	st = sb.status(created.TaskID, "test")
	require.Equal(t, StatusExported, st.Status)
	require.Equal(t, epoch.Add(10*time.Second+time.Duration(total)*100*time.Millisecond+5*time.Second), st.UpdatedAt)
	require.True(t, strings.HasPrefix(st.ResultURL, sb.srv.URL+BasePath+"/results/"+created.TaskID+".xlsx?token="), st.ResultURL)

	resp, body, err := sb.get(st.ResultURL)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", resp.Header.Get("Content-Type"))
	rows := readXLSX(t, body)
	require.Equal(t, ResultHeader(), rows[0])
	var want [][]string
	for _, l := range processed {
		if p := sb.s.Profile(l); !p.Failed {
			want = append(want, wantRow(p))
		}
	}
	require.Len(t, rows[1:], total-failing)
	for i, row := range rows[1:] {
		require.Equal(t, want[i], row[:7], "row %d", i+1)
	}

	stats := sb.s.Stats()
	require.Equal(t, 1, stats.Creates)
	require.Equal(t, 9, stats.StatusCalls)
	require.Equal(t, 10, stats.Charged)
	require.Equal(t, 1, stats.Downloads)
	require.Empty(t, stats.Errors)
}

func TestInstantSpeed(t *testing.T) {
	sb := newSandbox(t, WithSpeed(1e18), WithStartDelay(0), WithExportDelay(0))
	task := sb.create("u", []byte("+41798284651\n"))
	require.Equal(t, StatusPending, task.Status) // the create answer is always pending
	st := sb.status(task.TaskID, "u")
	require.Equal(t, StatusExported, st.Status)
	require.Equal(t, 1, st.Total)
	require.NotEmpty(t, st.ResultURL)
}

func TestPublicURL(t *testing.T) {
	sb := newSandbox(t, WithStartDelay(0), WithExportDelay(0), WithSpeed(1000),
		WithPublicURL("https://sandbox.example.com/"))
	task := sb.create("u", []byte("+41798284651\n"))
	sb.clock.Advance(time.Second)
	st := sb.status(task.TaskID, "u")
	require.True(t, strings.HasPrefix(st.ResultURL, "https://sandbox.example.com"+BasePath+"/results/"), st.ResultURL)
	require.Equal(t, st.TaskID, sb.s.Tasks()[0].TaskID)
	require.True(t, strings.HasPrefix(sb.s.Tasks()[0].ResultURL, "https://sandbox.example.com/"))
}

func TestCreateErrors(t *testing.T) {
	tests := []struct {
		name string
		user string
		file []byte
		want string
	}{
		{"missing user_id", "", []byte("+41798284651\n"), "missing user_id"},
		{"missing file", "u", nil, "missing file"},
		{"empty file", "u", []byte{}, "empty file"},
		{"blank lines only", "u", []byte("\r\n  \n\n"), "empty file"},
		{"NUL byte", "u", []byte("+41798284651\x00\n"), "file is not text"},
		{"invalid UTF-8", "u", []byte("+41798284651\n\xff\xfe\n"), "file is not text"},
		{"binary", "u", []byte("PK\x03\x04\x14\x00\x06\x00"), "file is not text"},
		{"too large", "u", bytes.Repeat([]byte("+41798284651\n"), 10), "file larger than 100 bytes"},
	}
	sb := newSandbox(t, WithMaxUploadBytes(100))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := sb.createRaw(tt.user, tt.file)
			e := decode[errorBody](t, resp, err, http.StatusBadRequest)
			require.Equal(t, tt.want, e.Error)
		})
	}
	t.Run("not multipart", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, sb.srv.URL+BasePath+"/tasks", strings.NewReader("user_id=u"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-API-Key", DefaultAPIKey)
		resp, err := sb.client.Do(req)
		decode[errorBody](t, resp, err, http.StatusBadRequest)
	})
	stats := sb.s.Stats()
	require.Zero(t, stats.Creates)
	require.Zero(t, stats.Charged)
	require.Equal(t, map[int]int{http.StatusBadRequest: len(tests) + 1}, stats.Errors)
}

func TestStatusErrors(t *testing.T) {
	sb := newSandbox(t)
	task := sb.create("alice", []byte("+41798284651\n"))

	resp, err := sb.statusRaw(task.TaskID, "")
	require.Equal(t, "missing user_id", decode[errorBody](t, resp, err, http.StatusBadRequest).Error)
	resp, err = sb.statusRaw(task.TaskID, "bob")
	decode[errorBody](t, resp, err, http.StatusNotFound)
	resp, err = sb.statusRaw("cs9viu7i61pkfs4oavvg", "alice")
	decode[errorBody](t, resp, err, http.StatusNotFound)

	resp, err = sb.client.Get(sb.srv.URL + "/elsewhere")
	decode[errorBody](t, resp, err, http.StatusNotFound)
	resp, err = sb.client.Get(sb.srv.URL + BasePath + "/tasks")
	decode[errorBody](t, resp, err, http.StatusMethodNotAllowed)
	require.Equal(t, http.MethodPost, resp.Header.Get("Allow"))
	resp, _, err = sb.get(sb.srv.URL + BasePath + "/results/" + task.TaskID + ".xlsx?token=0.00")
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	stats := sb.s.Stats()
	require.Equal(t, 1, stats.Charged)
	require.Equal(t, map[int]int{400: 1, 403: 1, 404: 3, 405: 1}, stats.Errors)
}

func TestAuth(t *testing.T) {
	const secret = "s3cr3t-key-value"
	sb := newSandbox(t, WithAPIKey(secret))
	sb.key = secret
	task := sb.create("u", []byte("+41798284651\n"))

	for _, key := range []string{"", DefaultAPIKey, secret + "x"} {
		sb.key = key
		resp, err := sb.createRaw("u", []byte("+41798284651\n"))
		e := decode[errorBody](t, resp, err, http.StatusUnauthorized)
		require.NotContains(t, e.Error, secret)
		resp, err = sb.statusRaw(task.TaskID, "u")
		decode[errorBody](t, resp, err, http.StatusUnauthorized)
	}
	require.Equal(t, 1, sb.s.Stats().Charged)
	require.Equal(t, 6, sb.s.Stats().Errors[http.StatusUnauthorized])

	snap, err := json.Marshal(sb.s.Snapshot())
	require.NoError(t, err)
	require.NotContains(t, string(snap), secret)

	t.Run("empty key accepts any key", func(t *testing.T) {
		sb := newSandbox(t, WithAPIKey(""))
		sb.key = "whatever"
		sb.create("u", []byte("+41798284651\n"))
		sb.key = ""
		resp, err := sb.createRaw("u", []byte("+41798284651\n"))
		decode[errorBody](t, resp, err, http.StatusUnauthorized)
	})
}

func TestBalance(t *testing.T) {
	sb := newSandbox(t, WithBalance(2))
	task := sb.create("u", []byte("+41798284651\n"))
	sb.status(task.TaskID, "u")
	resp, err := sb.statusRaw(task.TaskID, "u")
	decode[errorBody](t, resp, err, http.StatusPaymentRequired)
	resp, err = sb.createRaw("u", []byte("+41798284651\n"))
	decode[errorBody](t, resp, err, http.StatusPaymentRequired)
	stats := sb.s.Stats()
	require.Equal(t, 2, stats.Charged)
	require.Equal(t, 1, stats.Creates)
	require.Equal(t, 2, stats.Errors[http.StatusPaymentRequired])
}

func TestCounters(t *testing.T) {
	sb := newSandbox(t)
	file := []byte("+41798284651\n+41798284652\n+41798284651\n")
	a := sb.create("u", file)
	b := sb.create("u", file)
	require.NotEqual(t, a.TaskID, b.TaskID)
	sb.create("u", []byte("+41798284652\r\n+41798284653\r\n"))
	sb.status(a.TaskID, "u")

	require.Equal(t, map[string]int{"+41798284651": 4, "+41798284652": 3, "+41798284653": 1}, sb.s.Uploads())
	stats := sb.s.Stats()
	require.Equal(t, 3, stats.Creates)
	require.Equal(t, 1, stats.StatusCalls)
	require.Equal(t, stats.Creates+stats.StatusCalls, stats.Charged)
	require.Equal(t, 5, stats.DuplicateUploads)
	require.Equal(t, 1, stats.DuplicateFiles)
	require.Len(t, sb.s.Tasks(), 3)
}

func TestStart(t *testing.T) {
	s := New(WithSeed(3))
	u, stop, err := s.Start("")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(u, "http://127.0.0.1:"), u)
	resp, err := http.Get(u + BasePath + "/tasks/x?user_id=u")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.NoError(t, stop())
	require.NoError(t, stop())
	_, err = http.Get(u + BasePath + "/tasks/x?user_id=u")
	require.Error(t, err)

	_, _, err = s.Start("no-port")
	require.Error(t, err)
}

func TestRestartKeepsTasks(t *testing.T) {
	clk := NewManualClock(epoch)
	opts := []Option{WithClock(clk), WithSeed(9), WithSpeed(20), WithStartDelay(time.Second), WithExportDelay(time.Second)}
	s1 := New(opts...)
	srv1 := httptest.NewServer(s1)
	sb1 := &sandbox{t: t, s: s1, srv: srv1, clock: clk, key: DefaultAPIKey, client: srv1.Client()}
	file := []byte(strings.Join(numbers(50), "\n"))
	task := sb1.create("u", file)
	clk.Advance(1500 * time.Millisecond)
	before := sb1.status(task.TaskID, "u")
	require.Equal(t, StatusProcessing, before.Status)
	srv1.Close()

	// The state survives a JSON round trip, as a sandbox process would keep it.
	b, err := json.Marshal(s1.Snapshot())
	require.NoError(t, err)
	var st State
	require.NoError(t, json.Unmarshal(b, &st))

	// Other options after the restart do not change the old task's schedule.
	sb2 := newSandbox(t, WithClock(clk), WithState(st), WithSpeed(0.001))
	again := sb2.status(task.TaskID, "u")
	require.Equal(t, before.Status, again.Status)
	require.Equal(t, before.Success+before.Failure, again.Success+again.Failure)
	require.True(t, before.CreatedAt.Equal(again.CreatedAt))

	clk.Advance(3 * time.Second)
	done := sb2.status(task.TaskID, "u")
	require.Equal(t, StatusExported, done.Status)
	_, body, err := sb2.get(done.ResultURL)
	require.NoError(t, err)
	require.Len(t, readXLSX(t, body), 1+done.Success)

	next := sb2.create("u", file)
	require.NotEqual(t, task.TaskID, next.TaskID)
	stats := sb2.s.Stats()
	require.Equal(t, 2, stats.Creates)
	require.Equal(t, 3, stats.StatusCalls)
	require.Equal(t, 1, stats.DuplicateFiles)
	require.Equal(t, 2, sb2.s.Uploads()[numbers(1)[0]])
}

func TestConcurrentUse(t *testing.T) {
	sb := newSandbox(t, WithSpeed(50), WithStartDelay(0), WithExportDelay(0),
		WithFault500(0.1), WithCutDownloads(1))
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			errs <- func() error {
				file := []byte(strings.Join(numbers(5+g), "\n"))
				ct, body := form(t, "u", file)
				req, _ := http.NewRequest(http.MethodPost, sb.srv.URL+BasePath+"/tasks", body)
				req.Header.Set("Content-Type", ct)
				req.Header.Set("X-API-Key", DefaultAPIKey)
				resp, err := sb.client.Do(req)
				if err != nil {
					return err
				}
				resp.Body.Close()
				for range 20 {
					sb.clock.Advance(100 * time.Millisecond)
					sb.s.Tasks()
					sb.s.Stats()
				}
				return nil
			}()
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
	for _, task := range sb.s.Tasks() {
		for {
			resp, err := sb.statusRaw(task.TaskID, "u")
			require.NoError(t, err)
			var st Task
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				continue
			}
			require.Equal(t, StatusExported, st.Status)
			resp, body, err := sb.get(st.ResultURL)
			if err == nil && resp.StatusCode == http.StatusOK {
				require.Len(t, readXLSX(t, body), 1+st.Success)
				break
			}
		}
	}
	stats := sb.s.Stats()
	require.Equal(t, stats.Creates+stats.StatusCalls, stats.Charged)
	require.Equal(t, len(sb.s.Tasks()), stats.Creates)
}
