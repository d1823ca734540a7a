package plugin

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/wadeep/wadeep/internal/ipcguard"
)

// DefaultMaxMessage is the most bytes of one protocol message: a batch
// bigger than this in Arrow IPC is split by rows. Both sides accept
// messages up to MaxMessage + messageSlack.
const DefaultMaxMessage = 4 << 20

// messageSlack is room for the protobuf fields around a batch.
const messageSlack = 64 << 10

// grpcMessageLimit is the gRPC message size both sides set explicitly.
func grpcMessageLimit(maxMessage int) int { return maxMessage + messageSlack }

// encodeSchema is an IPC stream holding schema and no batch.
func encodeSchema(schema *arrow.Schema) []byte {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	w.Close()
	return buf.Bytes()
}

// encodeBatch appends rec as a self-contained IPC stream to buf.
func encodeBatch(buf *bytes.Buffer, rec arrow.RecordBatch, mem memory.Allocator) error {
	buf.Reset()
	w := ipc.NewWriter(buf, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(mem))
	if err := w.Write(rec); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// errTooLarge is a single row over the message limit.
var errTooLarge = errors.New("over the message limit")

// splitter cuts batches into pieces whose IPC form fits a message.
type splitter struct {
	max int
	mem memory.Allocator
	buf bytes.Buffer
}

// each calls fn with every piece of rec in order: the piece's IPC bytes
// (valid during the call) and the rows [lo, hi) of rec it holds. firstRow
// is rec's first row in the whole stream, for the error naming a row too
// large for any message.
func (s *splitter) each(rec arrow.RecordBatch, firstRow int64, fn func(b []byte, lo, hi int64) error) error {
	n := rec.NumRows()
	if err := encodeBatch(&s.buf, rec, s.mem); err != nil {
		return err
	}
	if s.buf.Len() <= s.max || n == 0 {
		return fn(s.buf.Bytes(), 0, n)
	}
	// Rows per piece from the average row, with a margin; a piece still too
	// big is halved.
	per := max(1, int64(float64(n)*float64(s.max)/float64(s.buf.Len())*0.9))
	for lo := int64(0); lo < n; {
		hi := min(n, lo+per)
		for {
			piece := rec.NewSlice(lo, hi)
			err := encodeBatch(&s.buf, piece, s.mem)
			piece.Release()
			if err != nil {
				return err
			}
			if s.buf.Len() <= s.max {
				break
			}
			if hi-lo == 1 {
				return fmt.Errorf("plugin: row %d of the stream is %d bytes in Arrow IPC, %w of %d bytes", firstRow+lo+1, s.buf.Len(), errTooLarge, s.max)
			}
			hi = lo + (hi-lo)/2
		}
		if err := fn(s.buf.Bytes(), lo, hi); err != nil {
			return err
		}
		lo = hi
	}
	return nil
}

// decodeLimit bounds what decoding b may allocate: an IPC message whose
// header lies about its sizes fails instead of allocating them.
func decodeLimit(n int) int64 { return 2*int64(n) + 1<<20 }

// checkIPC checks the metadata of an IPC stream from the other side
// before arrow-go reads it (see ipcguard.CheckStream).
func checkIPC(b []byte) error {
	if err := ipcguard.CheckStream(b); err != nil {
		return fmt.Errorf("plugin: a message from the other side is not Arrow IPC: %w", err)
	}
	return nil
}

// decodeSchema reads the schema of an IPC stream from the other side.
func decodeSchema(b []byte) (schema *arrow.Schema, err error) {
	defer recoverDecode(&err)
	if err := checkIPC(b); err != nil {
		return nil, err
	}
	mem := ipcguard.NewBudget(memory.DefaultAllocator, decodeLimit(len(b)))
	r, err := ipc.NewReader(bytes.NewReader(b), ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("plugin: schema from the other side: %w", err)
	}
	defer r.Release()
	return r.Schema(), nil
}

// decodeBatch reads one batch from an IPC stream from the other side,
// checks it against want (when set) and validates its buffers, so that a
// batch that lies cannot make later reads go out of bounds. The caller
// releases the batch.
func decodeBatch(b []byte, want *arrow.Schema, mem memory.Allocator) (rec arrow.RecordBatch, err error) {
	defer recoverDecode(&err)
	if err := checkIPC(b); err != nil {
		return nil, err
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	budget := ipcguard.NewBudget(mem, decodeLimit(len(b)))
	defer func() {
		if v := recover(); v != nil {
			err = panicError(v)
		}
		if err != nil {
			// arrow-go recovers a panic of its own reader as an error and
			// leaks what it had allocated for the batch (found by
			// FuzzDecodeBatch): given back here, after the reader's Release.
			budget.FreeAll()
		}
	}()
	r, err := ipc.NewReader(bytes.NewReader(b), ipc.WithAllocator(budget), ipc.WithDelayReadSchema(false))
	if err != nil {
		return nil, fmt.Errorf("plugin: batch from the other side: %w", err)
	}
	defer r.Release()
	if want != nil && !r.Schema().Equal(want) {
		return nil, fmt.Errorf("plugin: batch from the other side: schema %s, want the stream's %s", r.Schema(), want)
	}
	if !r.Next() {
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("plugin: batch from the other side: %w", err)
		}
		return nil, errors.New("plugin: batch from the other side: the message holds no batch")
	}
	rec = r.RecordBatch()
	if err := array.ValidateRecordFull(rec); err != nil {
		return nil, fmt.Errorf("plugin: batch from the other side: %w", err)
	}
	rec.Retain()
	if r.Next() {
		rec.Release()
		return nil, errors.New("plugin: batch from the other side: the message holds more than one batch")
	}
	return rec, nil
}

func recoverDecode(err *error) {
	if v := recover(); v != nil {
		*err = panicError(v)
	}
}

// panicError is the error of a panic while decoding a message.
func panicError(v any) error {
	if e, ok := v.(*ipcguard.OverBudget); ok {
		return fmt.Errorf("plugin: a message %w", e)
	}
	return fmt.Errorf("plugin: a message from the other side does not decode: %v", v)
}
