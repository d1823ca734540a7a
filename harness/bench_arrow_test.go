//go:build cgo && duckdb_arrow

package harness

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/arrowconv"
)

// benchArrowLoad loads recs through an Arrow view and CREATE TABLE AS.
func benchArrowLoad(b *testing.B, n int, recs []arrow.RecordBatch) {
	b.Run(fmt.Sprintf("rows=%d/arrow-view", n), func(b *testing.B) {
		d, _ := openTemp(b)
		for b.Loop() {
			r, err := array.NewRecordReader(arrowconv.Schema(), recs)
			require.NoError(b, err)
			release, err := d.RegisterView(r, "incoming")
			require.NoError(b, err)
			require.NoError(b, d.exec(context.Background(), `CREATE OR REPLACE TABLE load AS SELECT * FROM incoming`))
			release()
			r.Release()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
