package arrowconv

import (
	"archive/zip"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/wadeep/wadeep/internal/phone"
)

// Benchmarks read upstream-shaped result files of 100k and 1M rows, made
// once per process with excelize's StreamWriter (inline strings, as the
// sandbox's results are). The 1M-row case runs only without -short.
//
//	go test ./arrowconv -run '^$' -bench 'Read|PeakHeap' -benchtime 5x

var benchSizes = []struct {
	name string
	rows int
	long bool
}{
	{"rows=100k", 100_000, false},
	{"rows=1M", 1_000_000, true},
}

var bench struct {
	sync.Mutex
	dir   string
	files map[int]string
}

// TestMain removes the files benchmarks made.
func TestMain(m *testing.M) {
	m.Run()
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
}

// benchFile returns a result file of n rows, made on first use.
func benchFile(b *testing.B, n int) string {
	bench.Lock()
	defer bench.Unlock()
	if p, ok := bench.files[n]; ok {
		return p
	}
	if bench.dir == "" {
		dir, err := os.MkdirTemp("", "wadeep-bench-")
		require.NoError(b, err)
		bench.dir, bench.files = dir, map[int]string{}
	}
	path := filepath.Join(bench.dir, strconv.Itoa(n)+".xlsx")
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	require.NoError(b, err)
	require.NoError(b, sw.SetRow("A1", withHeader(resultHeader, nil)[0]))
	r := rand.New(rand.NewPCG(uint64(n), 1))
	for i := 2; i <= n+1; i++ {
		require.NoError(b, sw.SetRow("A"+strconv.Itoa(i), genRow(r, genOpts{rangeAges: true})))
	}
	require.NoError(b, sw.Flush())
	require.NoError(b, f.SaveAs(path))
	bench.files[n] = path
	return path
}

// BenchmarkRead compares, on the same file in the same run, excelize's
// Rows() feeding the same profile builder (excelize), this package's reader
// (wadeep) and the ceiling of just inflating the sheet XML (inflate).
func BenchmarkRead(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			if size.long && testing.Short() {
				b.Skip("1M rows run without -short")
			}
			path := benchFile(b, size.rows)
			rate := map[string]float64{}
			run := func(name string, read func(b *testing.B, f *os.File, n int64) int) {
				b.Run(name, func(b *testing.B) {
					f, err := os.Open(path)
					require.NoError(b, err)
					defer f.Close()
					st, err := f.Stat()
					require.NoError(b, err)
					b.ReportAllocs()
					rows := 0
					for b.Loop() {
						rows = read(b, f, st.Size())
					}
					r := float64(rows) * float64(b.N) / b.Elapsed().Seconds()
					b.ReportMetric(r, "rows/s")
					rate[name] = r
				})
			}
			run("excelize", func(b *testing.B, f *os.File, n int64) int {
				src, err := newExcelizeSource(f, n)
				require.NoError(b, err)
				r, err := newReader(newConfig(nil), src)
				require.NoError(b, err)
				return countRows(b, r)
			})
			run("wadeep", func(b *testing.B, f *os.File, n int64) int {
				r, err := NewReader(f, n)
				require.NoError(b, err)
				return countRows(b, r)
			})
			// The ceilings: inflating the sheet XML alone, with the reader's
			// own inflater (inflate) and with the standard library's
			// (inflate-std, the ceiling as first measured).
			inflate := func(open func(*zip.File) (io.ReadCloser, error)) func(*testing.B, *os.File, int64) int {
				return func(b *testing.B, f *os.File, n int64) int {
					zr, err := zip.NewReader(f, n)
					require.NoError(b, err)
					for _, e := range zr.File {
						if e.Name == "xl/worksheets/sheet1.xml" {
							rc, err := open(e)
							require.NoError(b, err)
							_, err = io.Copy(io.Discard, rc)
							require.NoError(b, err)
							rc.Close()
						}
					}
					return size.rows
				}
			}
			run("inflate", inflate(func(e *zip.File) (io.ReadCloser, error) {
				raw, err := e.OpenRaw()
				if err != nil {
					return nil, err
				}
				return flate.NewReader(raw), nil
			}))
			run("inflate-std", inflate((*zip.File).Open))
			if rate["excelize"] > 0 && rate["inflate"] > 0 && rate["inflate-std"] > 0 {
				b.Logf("wadeep/excelize = %.1fx, wadeep/inflate = %.2fx, wadeep/inflate-std = %.2fx",
					rate["wadeep"]/rate["excelize"], rate["wadeep"]/rate["inflate"], rate["wadeep"]/rate["inflate-std"])
			}
		})
	}
}

func countRows(b *testing.B, r *Reader) int {
	defer r.Release()
	n := 0
	for r.Next() {
		n += int(r.RecordBatch().NumRows())
	}
	require.NoError(b, r.Err())
	return n
}

// BenchmarkPeakHeap reports the most heap in use while reading, sampled
// after every batch and every millisecond: it should not grow with the file.
func BenchmarkPeakHeap(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			if size.long && testing.Short() {
				b.Skip("1M rows run without -short")
			}
			path := benchFile(b, size.rows)
			var peak, base uint64
			for b.Loop() {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				base = ms.HeapInuse
				peak = max(peak, sampleHeap(b, path))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(peak-min(peak, base))/(1<<20), "read-heap-MB")
		})
	}
}

// sampleHeap reads the file once and returns the most HeapInuse seen.
func sampleHeap(b *testing.B, path string) uint64 {
	var mu sync.Mutex
	var peak uint64
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		peak = max(peak, ms.HeapInuse)
		mu.Unlock()
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	r, err := OpenFile(path)
	require.NoError(b, err)
	for r.Next() {
		sample()
	}
	require.NoError(b, r.Err())
	r.Release()
	close(stop)
	<-done
	return peak
}

// BenchmarkCountryOf measures the country column's lookup on result-shaped
// numbers against libphonenumber's Parse and GetRegionCodeForNumber.
func BenchmarkCountryOf(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	nums := make([][]byte, 4096)
	for i := range nums {
		nums[i] = []byte(genNumber(r))
	}
	b.Run("fast", func(b *testing.B) {
		c := phone.NewCountryOf()
		i := 0
		for b.Loop() {
			c.Lookup(nums[i%len(nums)])
			i++
		}
	})
	b.Run("library", func(b *testing.B) {
		i := 0
		for b.Loop() {
			phone.LibraryRegion(string(nums[i%len(nums)]))
			i++
		}
	})
}
