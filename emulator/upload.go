package emulator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

var (
	// ErrEmptyFile is returned for an upload without any non-blank line.
	ErrEmptyFile = errors.New("emulator: empty file")
	// ErrNotText is returned for an upload that is not UTF-8 text: invalid
	// UTF-8, NUL or other control bytes besides tab, CR and LF.
	ErrNotText = errors.New("emulator: file is not text")
)

// Upload is an uploaded file as the sandbox reads it.
type Upload struct {
	// Lines are the non-blank lines in file order, surrounding white space
	// removed. Every line is processed; well-formed or not.
	Lines []string
	// Invalid counts the lines that are not "+" and 8 to 15 digits. They are
	// counted as failures and absent from the result file.
	Invalid int
}

// ParseUpload reads an upload file: one number per line, LF or CRLF line
// ends, blank lines and a leading UTF-8 byte order mark tolerated. The real
// service asks for E.164 numbers; what it does with other lines is unknown,
// and the sandbox processes them as failures.
func ParseUpload(data []byte) (Upload, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if !isText(data) {
		return Upload{}, ErrNotText
	}
	var u Upload
	for line := range strings.FieldsFuncSeq(string(data), func(r rune) bool { return r == '\n' || r == '\r' }) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		u.Lines = append(u.Lines, line)
		if !validNumber(line) {
			u.Invalid++
		}
	}
	if len(u.Lines) == 0 {
		return Upload{}, ErrEmptyFile
	}
	return u, nil
}

func isText(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(b)
}

// validNumber reports whether s is "+" followed by 8 to 15 ASCII digits.
func validNumber(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

const maxUserIDBytes = 256

// formOverhead is the room left in a request body for the multipart framing
// and the user_id field beside the file itself.
const formOverhead = 64 << 10

// readCreateForm reads the user_id and file fields of a create request. It
// streams the multipart body instead of ParseMultipartForm so that nothing
// spills into temp files and the size limit is exact. The returned message is
// non-empty for a 400 answer.
func (s *Server) readCreateForm(w http.ResponseWriter, r *http.Request) (userID string, file []byte, msg string) {
	limit := s.cfg.maxUploadBytes
	r.Body = http.MaxBytesReader(w, r.Body, limit+formOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		return "", nil, "expected a multipart/form-data body with user_id and file"
	}
	var sawUser, sawFile bool
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, bodyError(err)
		}
		switch part.FormName() {
		case "user_id":
			b, err := io.ReadAll(io.LimitReader(part, maxUserIDBytes+1))
			if err != nil {
				return "", nil, bodyError(err)
			}
			if len(b) > maxUserIDBytes {
				return "", nil, fmt.Sprintf("user_id longer than %d bytes", maxUserIDBytes)
			}
			userID, sawUser = strings.TrimSpace(string(b)), true
		case "file":
			if sawFile {
				return "", nil, "more than one file"
			}
			b, err := io.ReadAll(io.LimitReader(part, limit+1))
			if err != nil {
				return "", nil, bodyError(err)
			}
			if int64(len(b)) > limit {
				return "", nil, fmt.Sprintf("file larger than %d bytes", limit)
			}
			file, sawFile = b, true
		default:
			if _, err := io.Copy(io.Discard, part); err != nil {
				return "", nil, bodyError(err)
			}
		}
	}
	switch {
	case !sawUser || userID == "":
		return "", nil, "missing user_id"
	case !sawFile:
		return "", nil, "missing file"
	}
	return userID, file, ""
}

func bodyError(err error) string {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return "request body too large"
	}
	return "malformed multipart body"
}
