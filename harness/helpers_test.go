//go:build cgo

package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/arrowconv"
)

// prof is one profile row for tests.
type prof struct {
	number, status string
	whatsapp       bool
	checkedAt      time.Time
	task           string
}

// profiles builds a batch of the profile schema (plus extra utf8 columns,
// filled with "x").
func profiles(t testing.TB, rows []prof, extra ...string) arrow.RecordBatch {
	t.Helper()
	schema := arrowconv.Schema(extra...)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.number)
		b.Field(1).(*array.StringBuilder).Append("CH")
		require.NoError(t, b.Field(2).(*array.BinaryDictionaryBuilder).AppendString(r.status))
		if r.status == arrowconv.StatusFailed {
			b.Field(3).AppendNull()
			b.Field(4).AppendNull()
			b.Field(5).AppendNull()
		} else {
			b.Field(3).(*array.BooleanBuilder).Append(r.whatsapp)
			b.Field(4).(*array.StringBuilder).Append("https://a.example/" + r.number)
			require.NoError(t, b.Field(5).(*array.BinaryDictionaryBuilder).AppendString("person"))
		}
		require.NoError(t, b.Field(6).(*array.BinaryDictionaryBuilder).AppendString("female"))
		b.Field(7).(*array.Int16Builder).Append(25)
		b.Field(8).(*array.Int16Builder).Append(30)
		b.Field(9).AppendNull()
		b.Field(10).(*array.StringBuilder).Append(r.task)
		if r.checkedAt.IsZero() {
			b.Field(11).AppendNull()
		} else {
			b.Field(11).(*array.TimestampBuilder).Append(arrow.Timestamp(r.checkedAt.UnixMilli()))
		}
		for i := range extra {
			b.Field(12 + i).(*array.StringBuilder).Append("x")
		}
	}
	return b.NewRecordBatch()
}

func openTemp(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.duckdb")
	d, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	return d, path
}

// query returns the rows of a query as strings.
func query(t testing.TB, d *DB, q string, args ...any) [][]string {
	t.Helper()
	rows, err := d.Conn().QueryContext(context.Background(), q, args...)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = stringOf(v)
		}
		out = append(out, row)
	}
	require.NoError(t, rows.Err())
	return out
}

func stringOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}
