// Package ipcguard checks Arrow IPC bytes from outside (a plugin's
// messages, a user's .arrow file) before arrow-go reads them, and bounds
// what decoding them may allocate. arrow-go sizes some slices by lengths in
// the flatbuffer metadata and trusts them: a few hundred bytes that lie
// would have it allocate gigabytes, which a Go program cannot recover from.
package ipcguard

import (
	"encoding/binary"
	"fmt"
)

// CheckStream walks the framing and flatbuffer metadata of an Arrow IPC
// stream before arrow-go reads it: arrow-go sizes some slices by vector
// lengths in the metadata (a schema's fields, a field's children, custom
// metadata), so a message that lies about them would make it allocate
// without bound before any check. Every such vector must fit in its
// message, every body in the stream, and nesting stays shallow.
func CheckStream(b []byte) error {
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return errIPC("truncated message header")
		}
		n := binary.LittleEndian.Uint32(b[off:])
		off += 4
		if n == 0xFFFFFFFF {
			if len(b)-off < 4 {
				return errIPC("truncated message header")
			}
			n = binary.LittleEndian.Uint32(b[off:])
			off += 4
		}
		if n == 0 {
			return nil // end of stream
		}
		if uint64(n) > uint64(len(b)-off) {
			return errIPC("metadata of %d bytes, %d left", n, len(b)-off)
		}
		fb := flatbuf(b[off : off+int(n)])
		off += int(n)
		body, err := fb.message()
		if err != nil {
			return err
		}
		if body < 0 || body > int64(len(b)-off) {
			return errIPC("body of %d bytes, %d left", body, len(b)-off)
		}
		off += int(body)
	}
	return nil
}

// errIPC is an error of the check; callers say whose bytes they were.
func errIPC(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

var errFB = errIPC("flatbuffer out of bounds")

type flatbuf []byte

func (f flatbuf) u32(pos int) (int, error) {
	if pos < 0 || pos+4 > len(f) {
		return 0, errFB
	}
	return int(binary.LittleEndian.Uint32(f[pos:])), nil
}

// field is the position of table t's field slot i, 0 when absent.
func (f flatbuf) field(t, i int) (int, error) {
	if t < 0 || t+4 > len(f) {
		return 0, errFB
	}
	vt := t - int(int32(binary.LittleEndian.Uint32(f[t:])))
	if vt < 0 || vt+4 > len(f) {
		return 0, errFB
	}
	// A slot is present when its offset in the vtable is below the vtable's
	// size, as the flatbuffers runtime reads it: with an odd size the last
	// slot's second byte lies past it, and the runtime still reads the slot.
	size := int(binary.LittleEndian.Uint16(f[vt:]))
	if 4+2*i >= size {
		return 0, nil
	}
	if vt+4+2*i+2 > len(f) {
		return 0, errFB
	}
	o := int(binary.LittleEndian.Uint16(f[vt+4+2*i:]))
	if o == 0 {
		return 0, nil
	}
	return t + o, nil
}

// ref follows the offset in slot i of table t; 0 when absent.
func (f flatbuf) ref(t, i int) (int, error) {
	p, err := f.field(t, i)
	if err != nil || p == 0 {
		return 0, err
	}
	o, err := f.u32(p)
	if err != nil {
		return 0, err
	}
	return p + o, nil
}

// vector checks the vector in slot i of table t holds n elements of size
// bytes within the buffer; it returns the position of its first element.
func (f flatbuf) vector(t, i, size int) (start, n int, err error) {
	v, err := f.ref(t, i)
	if err != nil || v == 0 {
		return 0, 0, err
	}
	if n, err = f.u32(v); err != nil {
		return 0, 0, err
	}
	if uint64(n)*uint64(size) > uint64(len(f)-v-4) {
		return 0, 0, errIPC("a vector of %d elements in %d bytes", n, len(f))
	}
	return v + 4, n, nil
}

// tables checks the vector of tables in slot i of table t and calls fn on
// each table.
func (f flatbuf) tables(t, i int, fn func(int) error) error {
	start, n, err := f.vector(t, i, 4)
	if err != nil {
		return err
	}
	for k := 0; k < n; k++ {
		o, err := f.u32(start + 4*k)
		if err != nil {
			return err
		}
		if err := fn(start + 4*k + o); err != nil {
			return err
		}
	}
	return nil
}

func (f flatbuf) keyValues(t, i int) error {
	return f.tables(t, i, func(int) error { return nil })
}

// message checks a Message table and returns its body length.
func (f flatbuf) message() (int64, error) {
	root, err := f.u32(0)
	if err != nil {
		return 0, err
	}
	if err := f.keyValues(root, 4); err != nil {
		return 0, err
	}
	var body int64
	if p, err := f.field(root, 3); err != nil {
		return 0, err
	} else if p != 0 {
		if p+8 > len(f) {
			return 0, errFB
		}
		body = int64(binary.LittleEndian.Uint64(f[p:]))
	}
	kind := 0
	if p, err := f.field(root, 1); err != nil {
		return 0, err
	} else if p != 0 {
		if p >= len(f) {
			return 0, errFB
		}
		kind = int(f[p])
	}
	h, err := f.ref(root, 2)
	if err != nil || h == 0 {
		return body, err
	}
	switch kind {
	case 1: // Schema
		err = f.schema(h)
	case 2: // DictionaryBatch: its data is a RecordBatch
		var rb int
		if rb, err = f.ref(h, 1); err == nil && rb != 0 {
			err = f.recordBatch(rb, body)
		}
	case 3: // RecordBatch
		err = f.recordBatch(h, body)
	}
	return body, err
}

func (f flatbuf) schema(t int) error {
	if err := f.tables(t, 1, func(fld int) error { return f.arrowField(fld, 0) }); err != nil {
		return err
	}
	if err := f.keyValues(t, 2); err != nil {
		return err
	}
	_, _, err := f.vector(t, 3, 8)
	return err
}

const maxNesting = 64

func (f flatbuf) arrowField(t, depth int) error {
	if depth > maxNesting {
		return errIPC("fields nested over %d deep", maxNesting)
	}
	// A union's type ids (Type 14, its slot 1) are the one vector a type has.
	kind, err := f.field(t, 2)
	if err != nil {
		return err
	}
	if kind != 0 && kind < len(f) && f[kind] == 14 {
		ty, err := f.ref(t, 3)
		if err != nil {
			return err
		}
		if ty != 0 {
			if _, _, err := f.vector(ty, 1, 4); err != nil {
				return err
			}
		}
	}
	if err := f.tables(t, 5, func(c int) error { return f.arrowField(c, depth+1) }); err != nil {
		return err
	}
	return f.keyValues(t, 6)
}

// recordBatch checks a RecordBatch table whose message has a body of body
// bytes: its vectors fit, and every buffer lies inside the body (arrow-go
// slices the body by them and panics past its end, leaking what it had
// allocated for the batch so far).
func (f flatbuf) recordBatch(t int, body int64) error {
	for _, v := range []struct{ slot, size int }{{1, 16}, {4, 8}} {
		if _, _, err := f.vector(t, v.slot, v.size); err != nil {
			return err
		}
	}
	start, n, err := f.vector(t, 2, 16) // Buffer structs: offset, length
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		p := start + 16*i
		off, size := int64(binary.LittleEndian.Uint64(f[p:])), int64(binary.LittleEndian.Uint64(f[p+8:]))
		if off < 0 || size < 0 || off > body || size > body-off {
			return errIPC("buffer %d at %d (%d bytes) outside a body of %d bytes", i, off, size, body)
		}
	}
	return nil
}
