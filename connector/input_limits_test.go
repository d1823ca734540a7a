package connector

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/stretchr/testify/require"
)

// allocated is the bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestParquetDeclaredSizes: a Parquet file of a kilobyte whose zstd page
// declares 60 GB is an error naming the file, not an allocation that ends
// the process; so is a snappy page that declares 4 GiB.
func TestParquetDeclaredSizes(t *testing.T) {
	b, err := os.ReadFile("testdata/hostile/zstd-60gb.parquet")
	require.NoError(t, err)
	var planErr error
	n := allocated(func() {
		_, planErr = NewPlan([]Input{{Name: "bomb.parquet", RA: bytesReaderAt(b), Size: int64(len(b))}}, PlanOptions{})
	})
	require.ErrorContains(t, planErr, "bomb.parquet: parquet: could not decompress page: zstd page (61 bytes uncompressed)")
	require.Less(t, n, uint64(64<<20), "bytes allocated for a %d-byte file", len(b))

	snappy, err := compress.GetCodec(compress.Codecs.Snappy)
	require.NoError(t, err)
	page := binary.AppendUvarint(nil, 1<<32-1)
	page = append(page, 0, 'x')
	n = allocated(func() { _, err = compress.Decode(snappy, make([]byte, 100), page) })
	require.ErrorContains(t, err, "snappy page: its data declares 4294967295 bytes uncompressed, its header 100")
	require.Less(t, n, uint64(1<<20))
}

// TestArrowDeclaredSizes: an Arrow IPC file with compressed buffers states
// each buffer's uncompressed length; one that states 60 GB is an error
// naming the file and its batch, not an allocation that ends the process.
func TestArrowDeclaredSizes(t *testing.T) {
	for seed, magic := range map[string][]byte{
		"testdata/inputs/customers_lz4.arrow":  {0x04, 0x22, 0x4d, 0x18},
		"testdata/inputs/customers_zstd.arrow": {0x28, 0xb5, 0x2f, 0xfd},
	} {
		t.Run(filepath.Base(seed), func(t *testing.T) {
			b, err := os.ReadFile(seed)
			require.NoError(t, err)
			i := bytes.Index(b, magic) // the first compressed buffer, after its length
			require.Greater(t, i, 8)
			binary.LittleEndian.PutUint64(b[i-8:], 60<<30)
			var planErr error
			n := allocated(func() {
				_, planErr = NewPlan([]Input{{Name: "bomb.arrow", RA: bytesReaderAt(b), Size: int64(len(b))}}, PlanOptions{})
			})
			require.ErrorContains(t, planErr, "bomb.arrow: record batch 0: ")
			require.ErrorContains(t, planErr, "asks for more memory than its size allows (64424")
			require.Less(t, n, uint64(64<<20))
		})
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestCSVRecordLimit: a CSV record (all its lines, for a quoted field with
// line breaks) longer than MaxRecordBytes stops the input with an error
// naming its line, after reading not much more than the limit: neither a
// line with no end nor a quote left open has the whole file read into
// memory. A record of exactly the limit is read.
func TestCSVRecordLimit(t *testing.T) {
	const big = 64 << 20
	for _, tt := range []struct {
		name, head, fill, want string
	}{
		{"a line with no end", "phone,name\n+41798284651,a\n+33612345678,", "x",
			"connector: big.csv: line 3: record longer than 1048576 bytes (1 MiB)"},
		{"a quote left open", "phone,note\n+41798284651,\"open\n", "many lines\n",
			"connector: big.csv: line 2: record longer than 1048576 bytes (1 MiB); a quoted field is still open after it: is a closing quote missing?"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cr := &countingReader{r: io.MultiReader(strings.NewReader(tt.head), strings.NewReader(strings.Repeat(tt.fill, big/len(tt.fill))))}
			_, err := NewPlan([]Input{{Name: "big.csv", R: cr}}, PlanOptions{Region: "CH"})
			require.EqualError(t, err, tt.want)
			require.ErrorIs(t, err, errRecordTooLong)
			require.Less(t, cr.n, int64(MaxRecordBytes+512<<10), "bytes read of %d", big+len(tt.head))
		})
	}

	note := strings.Repeat("n", MaxRecordBytes-len("+41798284651,\n"))
	plan, err := NewPlan([]Input{{Name: "ok.csv", R: strings.NewReader("phone,note\n+41798284651," + note + "\n+33612345678,x\n")}}, PlanOptions{})
	require.NoError(t, err, "a record of exactly MaxRecordBytes")
	require.Equal(t, []string{"+41798284651", "+33612345678"}, plan.Numbers.Strings())
}
