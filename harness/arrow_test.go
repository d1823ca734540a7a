//go:build duckdb_arrow && cgo

package harness

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/arrowconv"
)

func TestArrowViewAndQuery(t *testing.T) {
	ctx := context.Background()
	d, _ := openTemp(t)
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rec := profiles(t, []prof{
		{number: "+41790000001", status: "checked", whatsapp: true, checkedAt: day, task: "t"},
		{number: "+41790000002", status: "failed", checkedAt: day, task: "t"},
	})
	r, err := array.NewRecordReader(arrowconv.Schema(), []arrow.RecordBatch{rec})
	require.NoError(t, err)
	rec.Release()
	release, err := d.RegisterView(r, "incoming")
	require.NoError(t, err)
	require.NoError(t, d.exec(ctx, `INSERT INTO profiles SELECT number, country, status, whatsapp, avatar, category, gender, age_min, age_max, hair_color, task_id, checked_at FROM incoming`))
	release()
	r.Release()

	out, err := d.QueryArrow(ctx, `SELECT * FROM coverage_by_country`)
	require.NoError(t, err)
	defer out.Release()
	require.True(t, out.Next())
	b := out.RecordBatch()
	require.Equal(t, "country", b.Schema().Field(0).Name)
	require.Equal(t, int64(1), b.NumRows())
	require.Equal(t, "CH", b.Column(0).ValueStr(0))
	require.Equal(t, "2", b.Column(1).ValueStr(0))
	require.Equal(t, "1", b.Column(3).ValueStr(0))
}
