package connector

import (
	"testing"

	"github.com/stretchr/testify/require"
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

func FuzzDecodeTask(f *testing.F) {
	f.Add([]byte(`{"task_id":"a","status":"processing","total":20000,"success":6724,"failure":0}`))
	f.Add([]byte(`{"task_id":"a","status":"exported","total":1,"success":1,"result_url":"https://x"}`))
	f.Add([]byte(`{"task_id":"a","status":"pending","total":1e400}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		task, err := decodeTask(body)
		if err != nil {
			return
		}
		if task.ID == "" || task.Total < 0 || task.Success < 0 || task.Failure < 0 {
			t.Fatalf("decoded an impossible task: %+v", task)
		}
		if task.Status == StatusExported && task.ResultURL == "" {
			t.Fatalf("exported without a link: %+v", task)
		}
	})
}
