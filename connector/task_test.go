package connector

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/internal/fuzzseed"
)

func TestDecodeTask(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    Task
		wantErr string
	}{
		{name: "created", body: `{ "created_at": "2024-10-19T18:24:56.450567423Z", "updated_at": "2024-10-19T18:24:56.450567423Z", "task_id": "cs9viu7i61pkfs4oavvg", "user_id": "test", "status": "pending", "total": 0, "success": 0, "failure": 0}`,
			want: Task{ID: "cs9viu7i61pkfs4oavvg", UserID: "test", Status: StatusPending}},
		{name: "processing", body: `{"task_id":"a","status":"processing","total":20000,"success":6724,"failure":0}`,
			want: Task{ID: "a", Status: StatusProcessing, Total: 20000, Success: 6724}},
		{name: "success beyond total", body: `{"task_id":"a","status":"processing","total":10,"success":12,"failure":1}`,
			want: Task{ID: "a", Status: StatusProcessing, Total: 10, Success: 12, Failure: 1}},
		{name: "unknown fields and float counts", body: `{"task_id":"a","status":"Completed","total":5.0,"success":5,"eta":"soon","extra":{"x":1}}`,
			want: Task{ID: "a", Status: StatusCompleted, Total: 5, Success: 5}},
		{name: "exported", body: `{"task_id":"a","status":"exported","total":1,"success":1,"result_url":"https://x/r.xlsx"}`,
			want: Task{ID: "a", Status: StatusExported, Total: 1, Success: 1, ResultURL: "https://x/r.xlsx"}},
		{name: "unknown status", body: `{"task_id":"a","status":"archived"}`, wantErr: `unknown status "archived"`},
		{name: "no id", body: `{"status":"pending"}`, wantErr: "no task_id"},
		{name: "negative", body: `{"task_id":"a","status":"pending","total":-1}`, wantErr: "field total"},
		{name: "bad time", body: `{"task_id":"a","status":"pending","updated_at":"yesterday"}`, wantErr: "field updated_at"},
		{name: "exported without url", body: `{"task_id":"a","status":"exported"}`, wantErr: "no result_url"},
		{name: "not json", body: `<html>`, wantErr: "task JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeTask([]byte(tt.body))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			got.CreatedAt, got.UpdatedAt = got.CreatedAt.UTC(), got.UpdatedAt.UTC()
			want := tt.want
			if tt.name == "created" {
				want.CreatedAt, want.UpdatedAt = got.CreatedAt, got.UpdatedAt
				require.Equal(t, 2024, got.CreatedAt.Year())
			}
			require.Equal(t, want, *got)
		})
	}
}

// FuzzDecodeTask decodes arbitrary task answers, seeded from
// testdata/tasks: an error in one line that says it is about a task, or a
// task that can be: a printable id, a known status, counts that are counts,
// a link when exported; and its wire form decodes to the same task.
func FuzzDecodeTask(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "testdata/tasks/*.json") {
		f.Add(s.Data)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		task, err := decodeTask(body)
		if err != nil {
			msg := err.Error()
			require.NotContains(t, msg, "\n", "one line")
			require.NotContains(t, msg, "\r", "one line")
			require.Contains(t, msg, "task")
			require.LessOrEqual(t, len(msg), 512, "a short error: %.200q", msg)
			if id := partialTaskID(body); id != "" {
				require.True(t, validTaskID(id), "a kept id is a task id: %q", id)
			}
			return
		}
		require.True(t, validTaskID(task.ID), "id %q", task.ID)
		require.Contains(t, []Status{StatusPending, StatusProcessing, StatusCompleted, StatusExported}, task.Status)
		for _, n := range []int{task.Total, task.Success, task.Failure} {
			require.True(t, n >= 0 && n <= 1e12, "count %d", n)
		}
		if task.Status == StatusExported {
			require.NotEmpty(t, task.ResultURL)
		}
		require.Equal(t, task.ID, partialTaskID(body))

		w := taskJSON{TaskID: task.ID, UserID: task.UserID, Status: string(task.Status), ResultURL: task.ResultURL,
			Total: json.Number(strconv.Itoa(task.Total)), Success: json.Number(strconv.Itoa(task.Success)), Failure: json.Number(strconv.Itoa(task.Failure))}
		if !task.CreatedAt.IsZero() {
			w.CreatedAt = task.CreatedAt.Format(time.RFC3339Nano)
		}
		if !task.UpdatedAt.IsZero() {
			w.UpdatedAt = task.UpdatedAt.Format(time.RFC3339Nano)
		}
		again, err := json.Marshal(w)
		require.NoError(t, err)
		back, err := decodeTask(again)
		require.NoError(t, err, "%s", again)
		require.True(t, back.CreatedAt.Equal(task.CreatedAt) && back.UpdatedAt.Equal(task.UpdatedAt))
		back.CreatedAt, back.UpdatedAt = task.CreatedAt, task.UpdatedAt
		require.Equal(t, task, back)
	})
}

func TestTaskIDMustBePrintable(t *testing.T) {
	for _, body := range []string{`{"task_id":"a\nb","status":"pending"}`, `{"task_id":"` + strings.Repeat("x", 129) + `","status":"pending"}`} {
		_, err := decodeTask([]byte(body))
		require.ErrorContains(t, err, "is not a task id")
		require.NotContains(t, err.Error(), "\n")
		require.Empty(t, partialTaskID([]byte(body)), "an answer that breaks the contract keeps no such id")
	}
}
