package ipcguard

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// file writes batches of a string and a dictionary column as an Arrow IPC
// file with the writer's options.
func file(t *testing.T, batches int, opts ...ipc.Option) []byte {
	t.Helper()
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	schema := arrow.NewSchema([]arrow.Field{{Name: "phone", Type: arrow.BinaryTypes.String}, {Name: "kind", Type: dt}},
		func() *arrow.Metadata { m := arrow.NewMetadata([]string{"k"}, []string{"v"}); return &m }())
	var buf bytes.Buffer
	w, err := ipc.NewFileWriter(&buf, append([]ipc.Option{ipc.WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < batches; i++ {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		b.Field(0).(*array.StringBuilder).AppendValues([]string{"+41798284651", "+33612345678"}, nil)
		if err := b.Field(1).(*array.BinaryDictionaryBuilder).AppendString("mobile"); err != nil {
			t.Fatal(err)
		}
		b.Field(1).AppendNull()
		rec := b.NewRecordBatch()
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		b.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// footer is the position and bytes of b's footer.
func footer(b []byte) (int, flatbuf) {
	n := int(binary.LittleEndian.Uint32(b[len(b)-10:]))
	at := len(b) - 10 - n
	return at, flatbuf(b[at : at+n])
}

func TestCheckFileAcceptsRealFiles(t *testing.T) {
	for name, b := range map[string][]byte{
		"plain": file(t, 3), "lz4": file(t, 2, ipc.WithLZ4()), "zstd": file(t, 2, ipc.WithZstd()), "empty": file(t, 0),
	} {
		if err := CheckFile(bytes.NewReader(b), int64(len(b))); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Too short or not Arrow at all: left for arrow-go to refuse.
	for _, b := range [][]byte{nil, []byte("ARROW1"), []byte("PAR1 not arrow at all, long enough")} {
		if err := CheckFile(bytes.NewReader(b), int64(len(b))); err != nil {
			t.Errorf("%q: %v", b, err)
		}
	}
}

// TestCheckFileRefusesLies: a schema claiming more fields than the footer
// holds, and a footer listing one block twice (which would have a reader
// read the file again for every entry), are refused.
func TestCheckFileRefusesLies(t *testing.T) {
	b := file(t, 2)
	at, fb := footer(b)
	root, _ := fb.u32(0)
	schema, _ := fb.ref(root, 1)
	fields, _ := fb.ref(schema, 1)
	binary.LittleEndian.PutUint32(b[at+fields:], 0x7fffffff)
	if err := CheckFile(bytes.NewReader(b), int64(len(b))); err == nil || err.Error() != fmt.Sprintf("a vector of 2147483647 elements in %d bytes", len(fb)) {
		t.Fatalf("a lying field count: %v", err)
	}

	b = file(t, 2)
	at, fb = footer(b)
	root, _ = fb.u32(0)
	start, n, err := fb.vector(root, 3, blockSize)
	if err != nil || n != 2 {
		t.Fatal(n, err)
	}
	copy(b[at+start+blockSize:], b[at+start:at+start+blockSize]) // the second block is the first again
	err = CheckFile(bytes.NewReader(b), int64(len(b)))
	if err == nil || !strings.Contains(err.Error(), "over another block") {
		t.Fatalf("a block listed twice: %v", err)
	}
}
