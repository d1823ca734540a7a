package xlsx

import (
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strings"

	// klauspost's inflater is API-compatible with compress/flate and about
	// 30 % faster on result sheets, the reader's longest stage
	// (docs/performance.md).
	"github.com/klauspost/compress/flate"
)

// ratioGrace is how far an entry inflates before its compression ratio is
// checked: small parts of repeated markup compress far better than sheets.
const ratioGrace = 8 << 20

// archive is the zip container of a workbook, with the limits on what may be
// inflated from it. Not safe for concurrent use.
type archive struct {
	zr    *zip.Reader
	parts map[string]*zip.File // by partKey
	lim   *Limits
	total int64 // bytes inflated so far, all entries
}

func openArchive(ra io.ReaderAt, size int64, lim *Limits) (*archive, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	a := &archive{zr: zr, parts: make(map[string]*zip.File, len(zr.File)), lim: lim}
	for _, f := range zr.File {
		k := partKey(f.Name)
		if _, dup := a.parts[k]; !dup {
			a.parts[k] = f
		}
	}
	return a, nil
}

// partKey normalises a part name for lookup: OPC compares part names without
// regard to case, and some writers put a leading slash or backslashes in.
func partKey(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	return strings.ToLower(strings.TrimLeft(name, "/"))
}

// has reports whether the archive holds the part.
func (a *archive) has(name string) bool {
	_, ok := a.parts[partKey(name)]
	return ok
}

// open returns a reader of the inflated part, which enforces the limits and
// checks the entry's size and CRC-32 at its end.
func (a *archive) open(name string) (*entryReader, error) {
	f, ok := a.parts[partKey(name)]
	if !ok {
		return nil, fmt.Errorf("%w: no part %s", ErrMalformed, name)
	}
	// Refuse up front what the central directory already declares too big.
	if f.UncompressedSize64 > uint64(a.lim.Uncompressed-a.total) {
		return nil, a.overTotal()
	}
	if f.UncompressedSize64 > ratioGrace && f.UncompressedSize64/uint64(a.lim.Ratio) > f.CompressedSize64 {
		return nil, a.overRatio(name)
	}
	raw, err := f.OpenRaw()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, name, err)
	}
	e := &entryReader{a: a, f: f, name: name, crc: crc32.NewIEEE()}
	e.raw = countingReader{r: raw}
	switch f.Method {
	case zip.Store:
		e.dec = &e.raw
	case zip.Deflate:
		e.dec = flate.NewReader(bufio.NewReaderSize(&e.raw, 64<<10))
	default:
		return nil, fmt.Errorf("%w: %s: unsupported compression method %d", ErrMalformed, name, f.Method)
	}
	return e, nil
}

// readPart reads a small part whole; parts other than sheets and shared
// strings (workbook, relationships) are a few KiB.
func (a *archive) readPart(name string) ([]byte, error) {
	const maxPart = 64 << 20
	e, err := a.open(name)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	b, err := io.ReadAll(io.LimitReader(e, maxPart+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxPart {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrMalformed, name, maxPart)
	}
	return b, nil
}

func (a *archive) overTotal() error {
	return &LimitError{What: "uncompressed size of the workbook", Limit: a.lim.Uncompressed, Unit: " bytes", Option: "WithMaxUncompressed"}
}

func (a *archive) overRatio(name string) error {
	return &LimitError{What: "compression ratio of " + name, Limit: a.lim.Ratio, Unit: ":1", Option: "WithMaxCompressionRatio"}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// entryReader inflates one zip entry under the archive's limits. Unlike
// archive/zip's own reader it counts the compressed bytes it consumed, so the
// compression ratio is measured, not taken from a header a hostile file
// writes.
type entryReader struct {
	a    *archive
	f    *zip.File
	name string
	raw  countingReader
	dec  io.Reader
	crc  hash.Hash32
	n    int64 // bytes inflated from this entry
	err  error // sticky
}

func (e *entryReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.dec.Read(p)
	if n > 0 {
		e.n += int64(n)
		e.a.total += int64(n)
		e.crc.Write(p[:n])
		switch {
		case uint64(e.n) > e.f.UncompressedSize64:
			e.err = fmt.Errorf("%w: %s inflates past its declared size", ErrMalformed, e.name)
		case e.a.total > e.a.lim.Uncompressed:
			e.err = e.a.overTotal()
		case e.n > ratioGrace && e.n/e.a.lim.Ratio > e.raw.n:
			e.err = e.a.overRatio(e.name)
		}
		if e.err != nil {
			return 0, e.err
		}
	}
	switch {
	case err == io.EOF:
		if uint64(e.n) != e.f.UncompressedSize64 {
			e.err = fmt.Errorf("%w: %s: %w", ErrMalformed, e.name, io.ErrUnexpectedEOF)
		} else if e.f.CRC32 != 0 && e.crc.Sum32() != e.f.CRC32 {
			e.err = fmt.Errorf("%w: %s: %w", ErrMalformed, e.name, zip.ErrChecksum)
		} else {
			e.err = io.EOF
		}
		if n > 0 && e.err == io.EOF {
			return n, nil
		}
		return n, e.err
	case err != nil:
		if errors.Is(err, io.ErrUnexpectedEOF) || isFlateError(err) {
			err = fmt.Errorf("%w: %s: %w", ErrMalformed, e.name, err)
		}
		e.err = err
	}
	return n, err
}

func isFlateError(err error) bool {
	var ce flate.CorruptInputError
	var ie flate.InternalError
	return errors.As(err, &ce) || errors.As(err, &ie)
}

func (e *entryReader) Close() error {
	if c, ok := e.dec.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
