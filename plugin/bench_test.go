package plugin_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/plugin"
	"github.com/wadeep/wadeep/plugin/plugintest"
)

var (
	benchOnce sync.Once
	benchCfg  plugin.Config
	benchDir  string
	benchRows int64 // profiles in the finished job
	benchSB   *plugintest.Sandbox
	// benchCharged is the sandbox's charged calls once the job is done:
	// the reads must not add any.
	benchCharged int
)

// recordBytes is the size of rec's Arrow buffers.
func recordBytes(rec arrow.RecordBatch) int64 {
	var n int64
	var add func(d arrow.ArrayData)
	add = func(d arrow.ArrayData) {
		for _, buf := range d.Buffers() {
			if buf != nil {
				n += int64(buf.Len())
			}
		}
		for _, c := range d.Children() {
			add(c)
		}
		if dict, ok := d.Dictionary().(*array.Data); ok && dict != nil {
			add(dict)
		}
	}
	for _, col := range rec.Columns() {
		add(col.Data())
	}
	return n
}

// finishedJob is a state directory whose tasks are all done, holding the
// profiles of n numbers: Read streams them with no call at all.
func finishedJob(b *testing.B, n int) plugin.Config {
	benchOnce.Do(func() {
		sb := plugintest.NewSandbox(b, math.Inf(1))
		var err error
		benchDir, err = os.MkdirTemp("", "wadeep-bench-")
		require.NoError(b, err)
		benchCfg = sb.Config(b)
		benchCfg.StateDir = filepath.Join(benchDir, "state")
		benchCfg.ChunkSize = 100000
		in := plugintest.Numbers(n, "")
		defer in.Release()
		res, err := plugin.NewInProcess().Write(context.Background(), benchCfg, in)
		require.NoError(b, err)
		benchRows = int64(res.Numbers)
		res.Release()
		r, err := plugin.NewInProcess().Read(context.Background(), benchCfg)
		require.NoError(b, err)
		for r.Next() {
		}
		require.NoError(b, r.Err())
		r.Release()
		benchSB = sb
		benchCharged = sb.Charged()
	})
	return benchCfg
}

// BenchmarkRead streams the same finished job's profiles through the
// plugin process and in process, in the same run.
func BenchmarkRead(b *testing.B) {
	const n = 1000000
	cfg := finishedJob(b, n)
	defer os.RemoveAll(benchDir)
	bin := plugin.WadeepBinary(b)
	for _, side := range []string{"inprocess", "plugin"} {
		b.Run(fmt.Sprintf("rows=%d/%s", n, side), func(b *testing.B) {
			var c plugin.Connector = plugin.NewInProcess()
			if side == "plugin" {
				p, err := plugin.Open(context.Background(), bin)
				require.NoError(b, err)
				c = p
			}
			defer c.Close()
			b.ReportAllocs()
			var rows, bytes int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, err := c.Read(context.Background(), cfg)
				require.NoError(b, err)
				for r.Next() {
					rows += r.RecordBatch().NumRows()
					bytes += recordBytes(r.RecordBatch())
				}
				require.NoError(b, r.Err())
				r.Release()
			}
			s := b.Elapsed().Seconds()
			b.ReportMetric(float64(rows)/s, "rows/s")
			b.ReportMetric(float64(bytes)/s/1e6, "MB/s")
			require.EqualValues(b, int64(b.N)*benchRows, rows)
			require.Equal(b, benchCharged, benchSB.Charged(), "streaming a finished job is free")
		})
	}
}
