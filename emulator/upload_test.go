package emulator

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/internal/fuzzseed"
)

func TestParseUpload(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		lines   []string
		invalid int
		err     error
	}{
		{"one", "+41798284651", []string{"+41798284651"}, 0, nil},
		{"CRLF and blanks", "\r\n+41798284651\r\n\r\n  +12025550123 \r\n", []string{"+41798284651", "+12025550123"}, 0, nil},
		{"bare CR", "+41798284651\r+12025550123", []string{"+41798284651", "+12025550123"}, 0, nil},
		{"BOM", "\uFEFF+41798284651\n", []string{"+41798284651"}, 0, nil},
		{"tabs", "\t+41798284651\t\n", []string{"+41798284651"}, 0, nil},
		{"lengths", "+1234567\n+12345678\n+123456789012345\n+1234567890123456\n", []string{"+1234567", "+12345678", "+123456789012345", "+1234567890123456"}, 2, nil},
		{"not E.164", "0041798284651\n+41 79 828 46 51\nabc\n+4179828465x\n", []string{"0041798284651", "+41 79 828 46 51", "abc", "+4179828465x"}, 4, nil},
		{"unicode text", "+41798284651\nnuméro\n", []string{"+41798284651", "numéro"}, 1, nil},
		{"empty", "", nil, 0, ErrEmptyFile},
		{"blank", " \r\n\n\t\n", nil, 0, ErrEmptyFile},
		{"NUL", "+41798284651\x00", nil, 0, ErrNotText},
		{"control", "+41798284651\x1b[0m", nil, 0, ErrNotText},
		{"invalid UTF-8", "+41798284651\xc3", nil, 0, ErrNotText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, err := ParseUpload([]byte(tt.in))
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.lines, up.Lines)
			require.Equal(t, tt.invalid, up.Invalid)
		})
	}
}

// FuzzCreateTask drives arbitrary upload files through the parser and the
// create route, seeded from testdata/uploads: nothing panics, bad files get
// 400, and every line of a good file ends up counted as a success or a
// failure.
func FuzzCreateTask(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "testdata/uploads/*") {
		f.Add(s.Data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		up, perr := ParseUpload(data)
		if perr != nil {
			require.True(t, errors.Is(perr, ErrEmptyFile) || errors.Is(perr, ErrNotText), perr)
		} else {
			require.NotEmpty(t, up.Lines)
			invalid := 0
			for _, l := range up.Lines {
				require.NotEmpty(t, l)
				require.Equal(t, strings.TrimSpace(l), l)
				require.NotContains(t, l, "\n")
				if !validNumber(l) {
					invalid++
				}
			}
			require.Equal(t, invalid, up.Invalid)
		}

		clk := NewManualClock(epoch)
		s := New(WithClock(clk), WithSeed(1), WithMaxUploadBytes(1<<20))
		ct, body := form(t, "u", data)
		req := httptest.NewRequest(http.MethodPost, BasePath+"/tasks", body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-API-Key", DefaultAPIKey)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if perr != nil {
			require.Equal(t, http.StatusBadRequest, rec.Code)
			require.Empty(t, s.Tasks())
			return
		}
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		clk.Advance(365 * 24 * time.Hour)
		tasks := s.Tasks()
		require.Len(t, tasks, 1)
		require.Equal(t, StatusExported, tasks[0].Status)
		require.Equal(t, len(up.Lines), tasks[0].Total)
		require.Equal(t, tasks[0].Total, tasks[0].Success+tasks[0].Failure)
		require.GreaterOrEqual(t, tasks[0].Failure, up.Invalid)
		uploaded := 0
		for _, n := range s.Uploads() {
			uploaded += n
		}
		require.Equal(t, len(up.Lines), uploaded)
	})
}
