//go:build cgo

package harness

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/connector"
)

// benchProfiles returns n profiles in batches of 64k rows.
func benchProfiles(b testing.TB, n int) []arrow.RecordBatch {
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var recs []arrow.RecordBatch
	for lo := 0; lo < n; lo += 64 << 10 {
		rows := make([]prof, min(64<<10, n-lo))
		for i := range rows {
			k := lo + i
			st := "checked"
			if k%50 == 0 {
				st = "failed"
			}
			rows[i] = prof{number: fmt.Sprintf("+4179%07d", k), status: st, whatsapp: k%3 != 0, checkedAt: day, task: fmt.Sprint("t", k/20000)}
		}
		recs = append(recs, profiles(b, rows))
	}
	return recs
}

func release(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// BenchmarkLoad loads profiles into a new table: through the Appender
// (TableWriter), through batched INSERTs of 1,000 rows, and (with
// -tags=duckdb_arrow, bench_arrow_test.go) through an Arrow view and
// CREATE TABLE AS; ProfileWriter is the merge path check --out takes.
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{100_000, 1_000_000} {
		recs := benchProfiles(b, n)
		b.Run(fmt.Sprintf("rows=%d/appender", n), func(b *testing.B) {
			d, _ := openTemp(b)
			for b.Loop() {
				w, err := d.NewTableWriter(ctx, "load", arrowconv.Schema())
				require.NoError(b, err)
				for _, r := range recs {
					require.NoError(b, w.Write(r))
				}
				require.NoError(b, w.Close())
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run(fmt.Sprintf("rows=%d/profile-writer-merge", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				d, _ := openTemp(b)
				b.StartTimer()
				w, err := d.NewProfileWriter(ctx, arrowconv.Schema())
				require.NoError(b, err)
				for i, r := range recs {
					require.NoError(b, w.Write(r))
					if i%3 == 2 { // about a 20,000-number chunk per commit... 64k rows x 3
						require.NoError(b, w.EndChunk(Task{ID: fmt.Sprint(i)}))
					}
				}
				require.NoError(b, w.Close())
				b.StopTimer()
				d.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
		benchArrowLoad(b, n, recs)
		if n <= 100_000 { // 48× slower: 1M rows would take most of a minute
			b.Run(fmt.Sprintf("rows=%d/batched-insert", n), func(b *testing.B) {
				d, _ := openTemp(b)
				for b.Loop() {
					benchInsert(b, d, recs)
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
		release(recs)
	}
}

func benchInsert(b *testing.B, d *DB, recs []arrow.RecordBatch) {
	ctx := context.Background()
	require.NoError(b, d.exec(ctx, `CREATE OR REPLACE TABLE load AS SELECT * FROM profiles LIMIT 0`))
	require.NoError(b, d.exec(ctx, "BEGIN TRANSACTION"))
	const per = 1000
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", 12), ", ") + ")"
	stmt := "INSERT INTO load VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", per), ", ")
	args := make([]any, 0, 12*per)
	flush := func(q string) {
		_, err := d.c.ExecContext(ctx, q, args...)
		require.NoError(b, err)
		args = args[:0]
	}
	for _, r := range recs {
		gets := make([]func(int) any, 12)
		for c := 0; c < 12; c++ {
			g, err := getter(r.Column(c))
			require.NoError(b, err)
			col := r.Column(c)
			gets[c] = func(i int) any {
				if col.IsNull(i) {
					return nil
				}
				return g(i)
			}
		}
		for i := 0; i < int(r.NumRows()); i++ {
			for _, g := range gets {
				args = append(args, g(i))
			}
			if len(args) == 12*per {
				flush(stmt)
			}
		}
	}
	if len(args) > 0 {
		n := len(args) / 12
		flush("INSERT INTO load VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", n), ", "))
	}
	require.NoError(b, d.exec(ctx, "COMMIT"))
}

// BenchmarkViews queries each ready-made view over 1M profiles.
func BenchmarkViews(b *testing.B) {
	ctx := context.Background()
	d, _ := openTemp(b)
	recs := benchProfiles(b, 1_000_000)
	w, err := d.NewProfileWriter(ctx, arrowconv.Schema())
	require.NoError(b, err)
	for _, r := range recs {
		require.NoError(b, w.Write(r))
	}
	require.NoError(b, w.Close())
	release(recs)
	for _, v := range Views {
		b.Run("view="+v.Name, func(b *testing.B) {
			for b.Loop() {
				query(b, d, "SELECT * FROM "+v.Name)
			}
		})
	}
}

// BenchmarkPlanCache plans 1M numbers from a text input, without a cache
// and with a cache holding fresh profiles of half of them.
func BenchmarkPlanCache(b *testing.B) {
	ctx := context.Background()
	const n = 1_000_000
	var sb strings.Builder
	for k := 0; k < n; k++ {
		fmt.Fprintf(&sb, "+4179%07d\n", k)
	}
	text := sb.String()
	d, _ := openTemp(b)
	half := benchProfiles(b, n)
	w, err := d.NewProfileWriter(ctx, arrowconv.Schema())
	require.NoError(b, err)
	for i, r := range half {
		if i%2 == 0 { // every other batch of 64k: about half the numbers
			require.NoError(b, w.Write(r))
		}
	}
	require.NoError(b, w.Close())
	release(half)
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	plan := func(b *testing.B) *connector.Plan {
		p, err := connector.NewPlan([]connector.Input{{Name: "n.txt", R: strings.NewReader(text)}}, connector.PlanOptions{})
		require.NoError(b, err)
		return p
	}
	b.Run("cache=none", func(b *testing.B) {
		for b.Loop() {
			plan(b)
		}
	})
	b.Run("cache=half", func(b *testing.B) {
		for b.Loop() {
			p := plan(b)
			use, err := p.UseCache(ctx, d, 30*24*time.Hour, now)
			require.NoError(b, err)
			require.Greater(b, use.Numbers, n/3)
		}
	})
	b.Run("lookup-only", func(b *testing.B) {
		p := plan(b)
		b.ResetTimer()
		for b.Loop() {
			_, err := d.Fresh(ctx, p.Numbers.Strings(), now.Add(-30*24*time.Hour))
			require.NoError(b, err)
		}
	})
}
