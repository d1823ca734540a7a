package sink_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	arrowcsv "github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/sink"
)

// syntheticRows returns n deterministic profile rows with realistic
// cardinalities: a few dictionary values, a third of the rows failed.
func syntheticRows(n int, seed uint64) []profile {
	rng := rand.New(rand.NewPCG(seed, 1))
	pick := func(vals ...string) *string {
		return &vals[rng.IntN(len(vals))]
	}
	rows := make([]profile, n)
	for i := range rows {
		r := profile{number: fmt.Sprintf("+1415%07d", rng.IntN(10_000_000)), country: ptr("US"), status: "checked",
			taskID: ptr(fmt.Sprintf("task-%d", i/20_000))}
		if rng.IntN(3) == 0 {
			r.status = "failed"
			rows[i] = r
			continue
		}
		r.whatsapp = ptr(rng.IntN(2) == 0)
		if *r.whatsapp {
			r.avatar = ptr(fmt.Sprintf("https://cdn.example.com/avatars/%d.jpg", rng.Uint64()))
			r.category = pick("person", "cartoon", "animal", "landscape", "logo")
			r.gender = pick("female", "male")
			age := int16(18 + rng.IntN(50))
			r.ageMin, r.ageMax = &age, ptr(age+5)
			r.hairColor = pick("black", "brown", "blond", "red", "gray")
		}
		ts := time.UnixMilli(1729364023141 + int64(i)*1000).UTC()
		r.checkedAt = &ts
		rows[i] = r
	}
	return rows
}

// benchBatches splits n rows into batches of size rows, each with its own
// dictionaries, as a streaming reader produces them.
func benchBatches(b *testing.B, schema *arrow.Schema, n, size int) []arrow.RecordBatch {
	rows := syntheticRows(n, 42)
	var recs []arrow.RecordBatch
	for i := 0; i < n; i += size {
		recs = append(recs, buildBatch(b, memory.DefaultAllocator, schema, rows[i:min(i+size, n)]))
	}
	return recs
}

// plainSchema is profileSchema with dictionaries decoded, for the arrow-go
// CSV baseline, which cannot write dictionary columns.
func plainSchema() *arrow.Schema {
	fields := append([]arrow.Field{}, profileSchema().Fields()...)
	for i, f := range fields {
		if _, ok := f.Type.(*arrow.DictionaryType); ok {
			fields[i].Type = arrow.BinaryTypes.String
		}
	}
	return arrow.NewSchema(fields, nil)
}

// BenchmarkWrite writes 100k profile rows (10 batches) to io.Discard in each
// format. Baselines in the same run: arrow-go's CSV writer (dictionaries
// decoded beforehand) and arrow-go's RecordToJSON.
func BenchmarkWrite(b *testing.B) {
	const rows, batch = 100_000, 10_000
	schema := profileSchema()
	recs := benchBatches(b, schema, rows, batch)
	defer release(recs)

	report := func(b *testing.B) {
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	for _, format := range allFormats {
		b.Run(fmt.Sprintf("format=%s/rows=%d", format, rows), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w, err := sink.New(io.Discard, format, schema)
				require.NoError(b, err)
				for _, rec := range recs {
					require.NoError(b, w.Write(rec))
				}
				require.NoError(b, w.Close())
			}
			report(b)
		})
	}

	plain := plainSchema()
	plainRecs := benchBatches(b, plain, rows, batch)
	defer release(plainRecs)
	b.Run(fmt.Sprintf("baseline=arrow-csv/rows=%d", rows), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := arrowcsv.NewWriter(io.Discard, plain, arrowcsv.WithHeader(true), arrowcsv.WithNullWriter(""))
			for _, rec := range plainRecs {
				require.NoError(b, w.Write(rec))
			}
			require.NoError(b, w.Flush())
		}
		report(b)
	})
	b.Run(fmt.Sprintf("baseline=arrow-json/rows=%d", rows), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, rec := range recs {
				require.NoError(b, array.RecordToJSON(rec, io.Discard))
			}
		}
		report(b)
	})
}
