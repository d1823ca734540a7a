//go:build cgo

package harness

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/arrowconv"
)

func TestFreshSkipsFailedAndOld(t *testing.T) {
	ctx := context.Background()
	d, _ := openTemp(t)
	now := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	w, err := d.NewProfileWriter(ctx, arrowconv.Schema())
	require.NoError(t, err)
	rec := profiles(t, []prof{
		{number: "+41790000001", status: "checked", whatsapp: true, checkedAt: now.Add(-24 * time.Hour), task: "t"},
		{number: "+41790000002", status: "failed", checkedAt: now.Add(-24 * time.Hour), task: "t"},
		{number: "+41790000003", status: "checked", checkedAt: now.Add(-40 * 24 * time.Hour), task: "t"},
	})
	defer rec.Release()
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())

	numbers := []string{"+41790000004", "+41790000003", "+41790000002", "+41790000001"}
	fresh, err := d.Fresh(ctx, numbers, now.Add(-30*24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []bool{false, false, false, true}, fresh)

	r, err := d.Profiles(ctx, []string{"+41790000001", "+41790000003"})
	require.NoError(t, err)
	defer r.Release()
	var got []string
	for r.Next() {
		col := r.RecordBatch().Column(0)
		for i := 0; i < col.Len(); i++ {
			got = append(got, col.ValueStr(i))
		}
		require.True(t, r.RecordBatch().Schema().Equal(arrowconv.Schema()))
	}
	require.NoError(t, r.Err())
	require.Equal(t, []string{"+41790000001", "+41790000003"}, got)
}
