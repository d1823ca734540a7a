package plugin

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/wadeep/wadeep/arrowconv"
	"github.com/wadeep/wadeep/connector"
	"github.com/wadeep/wadeep/internal/fuzzseed"
)

// TestCheckIPCAcceptsEveryType: the metadata check passes what arrow-go
// writes for the profile schema's types (ints, bools, dictionaries,
// timestamps, metadata).
func TestCheckIPCAcceptsRealSchemas(t *testing.T) {
	for _, s := range []*arrow.Schema{arrowconv.Schema(), connector.RejectSchema()} {
		b := encodeSchema(s)
		require.NoError(t, checkIPC(b))
		got, err := decodeSchema(b)
		require.NoError(t, err)
		require.True(t, got.Equal(s))
	}
}

func stringBatch(t testing.TB, mem memory.Allocator, values ...string) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues(values, nil)
	return b.NewRecordBatch()
}

func TestSplitterCapsMessages(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	vals := make([]string, 10000)
	for i := range vals {
		vals[i] = strings.Repeat("x", i%300)
	}
	rec := stringBatch(t, mem, vals...)
	defer rec.Release()
	sp := &splitter{max: 64 << 10, mem: mem}
	var got []string
	pieces := 0
	var last int64
	err := sp.each(rec, 0, func(b []byte, lo, hi int64) error {
		require.LessOrEqual(t, len(b), 64<<10)
		require.Equal(t, last, lo, "pieces are contiguous")
		last = hi
		pieces++
		piece, err := decodeBatch(b, rec.Schema(), mem)
		require.NoError(t, err)
		defer piece.Release()
		require.EqualValues(t, hi-lo, piece.NumRows())
		col := piece.Column(0).(*array.String)
		for i := 0; i < col.Len(); i++ {
			got = append(got, col.Value(i))
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, pieces, 10)
	require.Equal(t, vals, got)
}

func TestSplitterNamesTheRowTooLarge(t *testing.T) {
	rec := stringBatch(t, memory.DefaultAllocator, "a", "b", strings.Repeat("x", 1<<20), "c")
	defer rec.Release()
	sp := &splitter{max: 64 << 10, mem: memory.DefaultAllocator}
	err := sp.each(rec, 100, func([]byte, int64, int64) error { return nil })
	require.ErrorIs(t, err, errTooLarge)
	require.ErrorContains(t, err, "row 103 of the stream")
}

func TestDecodeRefusesLies(t *testing.T) {
	rec := stringBatch(t, memory.DefaultAllocator, "+41798284651", "+33612345678")
	defer rec.Release()
	var buf bytes.Buffer
	require.NoError(t, encodeBatch(&buf, rec, memory.DefaultAllocator))
	good := bytes.Clone(buf.Bytes())
	got, err := decodeBatch(good, rec.Schema(), nil)
	require.NoError(t, err)
	got.Release()

	// Another schema than the stream's.
	other := arrow.NewSchema([]arrow.Field{{Name: "w", Type: arrow.BinaryTypes.String}}, nil)
	_, err = decodeBatch(good, other, nil)
	require.ErrorContains(t, err, "want the stream's")
	// Cut short, and every byte flipped in turn: an error, never a panic.
	_, err = decodeBatch(good[:len(good)/2], rec.Schema(), nil)
	require.Error(t, err)
	for i := range good {
		b := bytes.Clone(good)
		b[i] ^= 0xff
		if r, err := decodeBatch(b, nil, nil); err == nil {
			r.Release()
		}
	}
}

// FuzzDecodeBatch feeds the decoder of the other side's messages arbitrary
// bytes, seeded with the messages of testdata/ipc (TestWireSeeds): an error
// or a valid batch, never a panic, never more allocated than its budget,
// nothing left allocated once released; a batch that decodes is the
// stream's schema, and encoded again it decodes to the same batch.
func FuzzDecodeBatch(f *testing.F) {
	for _, s := range fuzzseed.Files(f, "testdata/ipc/*.arrows") {
		f.Add(s.Data)
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
		r, err := decodeBatch(b, nil, mem)
		if err == nil {
			_ = RowsText(r)
			schema, serr := decodeSchema(b)
			if serr != nil || !schema.Equal(r.Schema()) {
				t.Fatalf("a batch that decodes, and its schema: %v", serr)
			}
			var buf bytes.Buffer
			if err := encodeBatch(&buf, r, mem); err != nil {
				t.Fatalf("encode again: %v", err)
			}
			again, err := decodeBatch(buf.Bytes(), r.Schema(), mem)
			if err != nil {
				t.Fatalf("decode again: %v", err)
			}
			if !array.RecordEqual(r, again) {
				t.Fatalf("round trip: %v, then %v", r, again)
			}
			again.Release()
			r.Release()
		} else if strings.Contains(err.Error(), "\n") {
			t.Fatalf("not one line: %q", err)
		}
		if s := mem.CurrentAlloc(); s != 0 {
			t.Fatalf("%d bytes left allocated", s)
		}
		if _, err := decodeSchema(b); err != nil {
			return
		}
	})
}

// RowsText reads every value of rec, so that a batch that passed
// validation is shown to be readable.
func RowsText(rec arrow.RecordBatch) int {
	n := 0
	for j := 0; j < int(rec.NumCols()); j++ {
		for i := 0; i < int(rec.NumRows()); i++ {
			n += len(rec.Column(j).ValueStr(i))
		}
	}
	return n
}
