package connector

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkPlanMemory measures what today's Plan holds per input number:
// the live heap after planning (plan kept, garbage collected) minus the heap
// before, divided by the rows, and planning's rows/s.
func BenchmarkPlanMemory(b *testing.B) {
	for _, n := range []int{1_000_000} {
		b.Run(fmt.Sprintf("numbers=%d", n), func(b *testing.B) {
			var buf bytes.Buffer
			for i := 0; i < n; i++ {
				fmt.Fprintf(&buf, "+4179%07d\n", (i*7919)%10_000_000)
			}
			text := buf.Bytes()
			b.ReportAllocs()
			b.ResetTimer()
			var perNumber float64
			for i := 0; i < b.N; i++ {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				plan, err := NewPlan([]Input{{Name: "n.txt", R: bytes.NewReader(text)}}, PlanOptions{})
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perNumber = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
				runtime.KeepAlive(plan)
			}
			b.ReportMetric(perNumber, "heap-bytes/number")
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
