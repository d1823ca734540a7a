//go:build cgo

package harness

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/arrowconv"
)

func TestMergeNewestWins(t *testing.T) {
	ctx := context.Background()
	d, _ := openTemp(t)
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	write := func(rows []prof, task Task) {
		t.Helper()
		w, err := d.NewProfileWriter(ctx, arrowconv.Schema())
		require.NoError(t, err)
		rec := profiles(t, rows)
		defer rec.Release()
		require.NoError(t, w.Write(rec))
		require.NoError(t, w.EndChunk(task))
		require.NoError(t, w.Close())
	}
	write([]prof{
		{number: "+41790000001", status: "checked", whatsapp: true, checkedAt: day, task: "t1"},
		{number: "+41790000002", status: "checked", whatsapp: true, checkedAt: day, task: "t1"},
	}, Task{ID: "t1", Chunk: 1, Status: "exported", Numbers: 2, Profiles: 2})
	// A newer profile replaces the held one; an older one does not.
	write([]prof{
		{number: "+41790000001", status: "checked", whatsapp: false, checkedAt: day.Add(24 * time.Hour), task: "t2"},
		{number: "+41790000002", status: "failed", checkedAt: day.Add(-24 * time.Hour), task: "t2"},
		{number: "+41790000003", status: "checked", whatsapp: true, checkedAt: day, task: "t2"},
	}, Task{ID: "t2", Chunk: 1, Status: "exported", Numbers: 3, Profiles: 3, Failed: 1})
	got := query(t, d, `SELECT number, status, whatsapp, task_id, checked_at FROM profiles ORDER BY number`)
	require.Equal(t, [][]string{
		{"+41790000001", "checked", "false", "t2", "2026-03-02T12:00:00Z"},
		{"+41790000002", "checked", "true", "t1", "2026-03-01T12:00:00Z"},
		{"+41790000003", "checked", "true", "t2", "2026-03-01T12:00:00Z"},
	}, got)
	require.Equal(t, [][]string{{"t1", "2"}, {"t2", "3"}}, query(t, d, `SELECT task_id, numbers FROM tasks ORDER BY task_id`))
	require.Equal(t, [][]string{{"wadeep.personal_data = inferred_from_picture"}}, query(t, d, `SELECT comment FROM duckdb_columns() WHERE table_name = 'profiles' AND column_name = 'gender'`))
}

func TestWriterRefusesSkinColor(t *testing.T) {
	d, _ := openTemp(t)
	_, err := d.NewProfileWriter(context.Background(), arrowconv.Schema("skin_color"))
	require.ErrorContains(t, err, "never writes")
}

func TestAbortKeepsMergedChunks(t *testing.T) {
	ctx := context.Background()
	d, _ := openTemp(t)
	w, err := d.NewProfileWriter(ctx, arrowconv.Schema("profile_url"))
	require.NoError(t, err)
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := profiles(t, []prof{{number: "+41790000001", status: "checked", checkedAt: day, task: "t1"}}, "profile_url")
	b := profiles(t, []prof{{number: "+41790000002", status: "checked", checkedAt: day, task: "t2"}}, "profile_url")
	defer a.Release()
	defer b.Release()
	require.NoError(t, w.Write(a))
	require.NoError(t, w.EndChunk(Task{ID: "t1", Chunk: 1}))
	require.NoError(t, w.Write(b))
	require.NoError(t, w.Abort())
	require.Equal(t, [][]string{{"+41790000001", "x"}}, query(t, d, `SELECT number, profile_url FROM profiles`))
}
