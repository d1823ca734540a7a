package connector

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Status is the lifecycle state of an upstream task.
type Status string

// The task states in the upstream's contract, in order.
const (
	StatusPending    Status = "pending"    // queued; total is still 0
	StatusProcessing Status = "processing" // total, success and failure grow
	StatusCompleted  Status = "completed"  // done, result not yet downloadable
	StatusExported   Status = "exported"   // result_url is set
)

// Task is the upstream's view of one uploaded file.
type Task struct {
	ID        string
	UserID    string
	Status    Status
	Total     int // numbers in the task; 0 while pending
	Success   int
	Failure   int
	CreatedAt time.Time
	UpdatedAt time.Time
	ResultURL string // set once exported; a signed link that may expire
}

// Done is how many numbers the upstream has finished, failed or not. It may
// exceed Total: the upstream does not promise they add up.
func (t *Task) Done() int { return t.Success + t.Failure }

// taskJSON is the wire form. Counts are float64-tolerant json.Number so that
// "20000", 20000 and 20000.0 all decode.
type taskJSON struct {
	CreatedAt string      `json:"created_at"`
	UpdatedAt string      `json:"updated_at"`
	TaskID    string      `json:"task_id"`
	UserID    string      `json:"user_id"`
	Status    string      `json:"status"`
	Total     json.Number `json:"total"`
	Success   json.Number `json:"success"`
	Failure   json.Number `json:"failure"`
	ResultURL string      `json:"result_url"`
}

// decodeTask reads a task answer. Unknown fields are ignored; an unknown
// status, a missing task id, a negative or non-integer count or a bad
// timestamp is an error that names the field.
func decodeTask(body []byte) (*Task, error) {
	var w taskJSON
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("task JSON: %w", err)
	}
	t := &Task{ID: w.TaskID, UserID: w.UserID, ResultURL: w.ResultURL}
	if t.ID == "" {
		return nil, fmt.Errorf("task JSON has no task_id")
	}
	if !validTaskID(t.ID) {
		return nil, fmt.Errorf("task JSON: task_id %q is not a task id (at most %d bytes of printable text)", shorten(t.ID, 40), maxTaskID)
	}
	switch s := Status(strings.ToLower(strings.TrimSpace(w.Status))); s {
	case StatusPending, StatusProcessing, StatusCompleted, StatusExported:
		t.Status = s
	default:
		return nil, fmt.Errorf("task %s has unknown status %q", t.ID, w.Status)
	}
	var err error
	for _, f := range []struct {
		name string
		in   json.Number
		out  *int
	}{{"total", w.Total, &t.Total}, {"success", w.Success, &t.Success}, {"failure", w.Failure, &t.Failure}} {
		if *f.out, err = decodeCount(f.in); err != nil {
			return nil, fmt.Errorf("task %s: field %s: %w", t.ID, f.name, err)
		}
	}
	for _, f := range []struct {
		name string
		in   string
		out  *time.Time
	}{{"created_at", w.CreatedAt, &t.CreatedAt}, {"updated_at", w.UpdatedAt, &t.UpdatedAt}} {
		if f.in == "" {
			continue
		}
		if *f.out, err = time.Parse(time.RFC3339Nano, f.in); err != nil {
			return nil, fmt.Errorf("task %s: field %s: %q is not an RFC 3339 time", t.ID, f.name, f.in)
		}
	}
	if t.Status == StatusExported && t.ResultURL == "" {
		return nil, fmt.Errorf("task %s is exported but has no result_url", t.ID)
	}
	return t, nil
}

// partialTaskID digs the task id out of an answer that does not decode as a
// whole, or returns "".
func partialTaskID(body []byte) string {
	var w struct {
		TaskID string `json:"task_id"`
	}
	if json.Unmarshal(body, &w) != nil || !validTaskID(w.TaskID) {
		return ""
	}
	return w.TaskID
}

// maxTaskID bounds a task id from the upstream (its ids are 20 letters).
const maxTaskID = 128

// validTaskID reports whether id can be a task id: it goes into URLs,
// the journal, progress lines and errors, so it is short printable text
// (no line break to forge a log line with).
func validTaskID(id string) bool {
	return id != "" && len(id) <= maxTaskID && utf8.ValidString(id) &&
		!strings.ContainsFunc(id, func(r rune) bool { return !unicode.IsPrint(r) })
}

func decodeCount(n json.Number) (int, error) {
	if n == "" {
		return 0, nil
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f != float64(int64(f)) || f > 1e12 {
		return 0, fmt.Errorf("%q is not a count", string(n))
	}
	return int(f), nil
}
