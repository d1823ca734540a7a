package ipcguard

import (
	"bytes"
	"encoding/binary"
	"io"
	"sort"
)

// magic opens and ends an Arrow IPC file.
const magic = "ARROW1"

// blockSize is a footer Block struct: offset int64, metaDataLength int32
// (padded to 8), bodyLength int64.
const blockSize = 24

// CheckFile walks the metadata of the Arrow IPC file r (size bytes) before
// arrow-go's FileReader reads it: the footer's schema, as CheckStream does
// a stream's, and the message of every dictionary and record batch block.
// The blocks must lie inside the file, after its magic and before its
// footer, without overlapping one another: so reading every block reads
// the file at most once, however many blocks the footer lists. A file too
// short or without the magic passes, for arrow-go to refuse in its words.
func CheckFile(r io.ReaderAt, size int64) error {
	const trailer = 4 + len(magic)
	if size < int64(8+trailer) {
		return nil
	}
	tail := make([]byte, trailer)
	if _, err := r.ReadAt(tail, size-int64(trailer)); err != nil {
		return err
	}
	if !bytes.Equal(tail[4:], []byte(magic)) {
		return nil
	}
	n := int64(binary.LittleEndian.Uint32(tail))
	end := size - int64(trailer) // where the footer ends
	if n <= 0 || n > end-8 {
		return errIPC("a footer of %d bytes in a file of %d", n, size)
	}
	footer := make([]byte, n)
	if _, err := r.ReadAt(footer, end-n); err != nil {
		return err
	}
	fb := flatbuf(footer)
	root, err := fb.u32(0)
	if err != nil {
		return err
	}
	schema, err := fb.ref(root, 1)
	if err != nil {
		return err
	}
	if schema != 0 {
		if err := fb.schema(schema); err != nil {
			return err
		}
	}
	if err := fb.keyValues(root, 4); err != nil {
		return err
	}
	type block struct {
		offset, meta, body int64
	}
	var blocks []block
	for _, slot := range []int{2, 3} { // dictionaries, record batches
		start, k, err := fb.vector(root, slot, blockSize)
		if err != nil {
			return err
		}
		for i := 0; i < k; i++ {
			p := start + i*blockSize
			blocks = append(blocks, block{
				offset: int64(binary.LittleEndian.Uint64(footer[p:])),
				meta:   int64(int32(binary.LittleEndian.Uint32(footer[p+8:]))),
				body:   int64(binary.LittleEndian.Uint64(footer[p+16:])),
			})
		}
	}
	sort.Slice(blocks, func(i, j int) bool { return blocks[i].offset < blocks[j].offset })
	next := int64(8) // the magic and its padding
	limit := end - n
	for _, b := range blocks {
		if b.offset < next || b.meta < 8 || b.body < 0 || b.meta > limit-b.offset || b.body > limit-b.offset-b.meta {
			return errIPC("a block at offset %d (%d + %d bytes) outside the file's data or over another block", b.offset, b.meta, b.body)
		}
		next = b.offset + b.meta + b.body
		msg := make([]byte, b.meta)
		if _, err := r.ReadAt(msg, b.offset); err != nil {
			return err
		}
		prefix := 4
		if binary.LittleEndian.Uint32(msg) == 0xFFFFFFFF {
			prefix = 8
		}
		m := flatbuf(msg[prefix:])
		if _, err := m.message(); err != nil {
			return err
		}
	}
	return nil
}
