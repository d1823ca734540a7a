//go:build cgo && !duckdb_arrow

package harness

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// benchArrowLoad needs -tags=duckdb_arrow (bench_arrow_test.go).
func benchArrowLoad(b *testing.B, n int, recs []arrow.RecordBatch) {}
