package connector

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// BenchmarkPlanMemory compares planning as it is (Numbers as 8-byte
// integers, normalisation on every core) with the plan before it (one
// string and one RowRef per number, a map of strings, one goroutine), in
// the same run: rows/s, the peak heap while planning and the live heap the
// plan keeps, per distinct number.
//
//	go test ./connector/ -run '^$' -bench BenchmarkPlanMemory -benchtime 1x
func BenchmarkPlanMemory(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		var buf bytes.Buffer
		buf.Grow(13 * n)
		for i := 0; i < n; i++ {
			fmt.Fprintf(&buf, "+4179%07d\n", (i*7919)%10_000_000) // distinct: 7919 is prime to 10^7
		}
		text := buf.Bytes()
		for _, impl := range []struct {
			name string
			plan func() (any, int, error)
		}{
			{"before", func() (any, int, error) { p, err := stringPlan(text); return p, len(p.numbers), err }},
			{"now", func() (any, int, error) {
				p, err := NewPlan([]Input{{Name: "n.txt", R: bytes.NewReader(text)}}, PlanOptions{})
				if err != nil {
					return nil, 0, err
				}
				return p, len(p.Numbers), nil
			}},
		} {
			b.Run(fmt.Sprintf("numbers=%d/plan=%s", n, impl.name), func(b *testing.B) {
				b.ReportAllocs()
				var live, peak float64
				for i := 0; i < b.N; i++ {
					runtime.GC()
					base := heapObjects()
					stop := make(chan struct{})
					peakc := make(chan uint64)
					go func() { // samples the heap: no stop-the-world, unlike ReadMemStats
						var top uint64
						t := time.NewTicker(time.Millisecond)
						defer t.Stop()
						for {
							select {
							case <-t.C:
								top = max(top, heapObjects())
							case <-stop:
								peakc <- max(top, heapObjects())
								return
							}
						}
					}()
					plan, distinct, err := impl.plan()
					close(stop)
					top := <-peakc
					if err != nil {
						b.Fatal(err)
					}
					if distinct != n {
						b.Fatalf("%d distinct numbers, want %d", distinct, n)
					}
					runtime.GC()
					live = float64(heapObjects()-base) / float64(n)
					peak = float64(top-base) / float64(n)
					runtime.KeepAlive(plan)
				}
				b.ReportMetric(live, "live-bytes/number")
				b.ReportMetric(peak, "peak-bytes/number")
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// stringPlan is the plan as it was before Numbers were integers: the
// baseline of BenchmarkPlanMemory, planning one text input with the same
// reader and normaliser on one goroutine.
type oldPlan struct {
	numbers []string
	origin  []RowRef
	rejects []Reject
	rows    int
}

func stringPlan(text []byte) (*oldPlan, error) {
	norm, err := NewNormalizer("")
	if err != nil {
		return nil, err
	}
	p := &oldPlan{}
	first := map[string]RowRef{}
	in := Input{Name: "n.txt", R: bytes.NewReader(text)}
	err = readValues(in, &Source{Name: in.Name}, func(row int, value string, blank bool) {
		if blank {
			return
		}
		p.rows++
		ref := RowRef{File: in.Name, Row: row}
		e164, reason := norm.Normalize(value)
		if reason != "" {
			p.rejects = append(p.rejects, Reject{File: in.Name, Row: row, Value: cut(value), Reason: reason, Detail: norm.detail(value, reason)})
			return
		}
		if orig, dup := first[e164]; dup {
			p.rejects = append(p.rejects, Reject{File: in.Name, Row: row, Value: cut(value), Reason: ReasonDuplicate, DuplicateOf: orig})
			return
		}
		first[e164] = ref
		p.numbers = append(p.numbers, e164)
		p.origin = append(p.origin, ref)
	})
	return p, err
}
