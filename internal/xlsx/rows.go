package xlsx

// The reader parses XLSX itself rather than through excelize. excelize's
// Rows() decodes sheet XML with encoding/xml, which allocates per token and
// per cell: on a 100k-row result file (8 columns, 40 MB of sheet XML) it
// read 36,532 rows/s, while just inflating the sheet ran at 1,387,993
// rows/s. Here a byte scanner (xmlScanner) reads the inflated XML into
// reused buffers, and inflating, scanning and building batches overlap on
// goroutines: 817,890 rows/s on the same file in the same run, 22x excelize
// and 0.59x the inflate-only ceiling (docs/performance.md has the commands,
// the 1M-row figures and the spread between runs).

import (
	"errors"
	"io"
	"runtime"
)

const (
	blockRows  = 1024    // rows handed over at once
	blockBytes = 1 << 20 // or as much cell text and spans
	spanSize   = 24      // bytes of one span
	blocks     = 3       // blocks in flight
)

// rowBlock is a run of rows handed from the sheet scanner to the reader.
type rowBlock struct {
	arena []byte
	spans []span
	rows  []blockRow
	last  bool  // no block follows
	err   error // why, when reading failed
}

type blockRow struct {
	num  int // sheet row number
	ends int // end of the row's spans
}

// Rows reads the rows of a workbook's first worksheet. On more than one CPU
// the sheet is inflated on one goroutine and scanned on another, ahead of
// the caller, in bounded buffers; Close stops both. Not safe for concurrent
// use.
type Rows struct {
	name  string
	sst   *sharedStrings
	entry *entryReader
	pipe  *pipe
	sh    *sheetReader

	// With goroutines: blocks come in full, go back free.
	full    chan *rowBlock
	free    chan *rowBlock
	stop    chan struct{}
	scanned chan struct{} // closed when the scanning goroutine has returned

	cur    *rowBlock
	idx    int
	cells  [][]byte
	e      error
	closed bool
}

// Open opens the workbook of size bytes in ra and its first worksheet, under
// lim (see Limits). Its error is a *ParseError. ra must stay readable until
// Close, which the caller must call.
func Open(ra io.ReaderAt, size int64, lim Limits) (*Rows, error) {
	lim = lim.withDefaults()
	a, err := openArchive(ra, size, &lim)
	if err != nil {
		return nil, &ParseError{Err: err}
	}
	parts, err := findParts(a)
	if err != nil {
		return nil, &ParseError{Err: err}
	}
	s := &Rows{name: parts.sheetName, sst: &sharedStrings{}}
	buf := make([]byte, scanBufSize)
	if parts.sharedStrings != "" {
		if s.sst, err = loadSharedStrings(a, parts.sharedStrings, &lim, buf); err != nil {
			return nil, &ParseError{Sheet: s.name, Err: err}
		}
	}
	if s.entry, err = a.open(parts.sheet); err != nil {
		return nil, &ParseError{Sheet: s.name, Err: err}
	}
	s.sh = &sheetReader{sst: s.sst, lim: lim, name: s.name, rowBytes: lim.RowBytes}
	if runtime.GOMAXPROCS(0) < 2 {
		s.sh.sc = newScanner(s.entry, buf)
		return s, nil
	}
	s.stop = make(chan struct{})
	s.pipe = newPipe(s.entry, s.stop)
	s.sh.sc = newScanner(s.pipe, buf)
	s.full = make(chan *rowBlock, blocks)
	s.free = make(chan *rowBlock, blocks)
	for range blocks {
		s.free <- &rowBlock{}
	}
	s.scanned = make(chan struct{})
	go s.scan()
	return s, nil
}

// scan fills blocks until the rows end or the source is closed.
func (s *Rows) scan() {
	defer close(s.scanned)
	for {
		var b *rowBlock
		select {
		case b = <-s.free:
		case <-s.stop:
			return
		}
		s.sh.fill(b)
		select {
		case s.full <- b:
		case <-s.stop:
			return
		}
		if b.last {
			return
		}
	}
}

// Next advances to the next row the sheet holds (possibly one without
// cells); false at the end or on an error (see Err).
func (s *Rows) Next() bool {
	for {
		if s.cur != nil && s.idx+1 < len(s.cur.rows) {
			s.idx++
			s.setRow()
			return true
		}
		if s.cur != nil && s.cur.last {
			if s.e == nil {
				s.e = s.cur.err
			}
			return false
		}
		if s.closed {
			return false
		}
		if s.full == nil {
			if s.cur == nil {
				s.cur = &rowBlock{}
			}
			s.sh.fill(s.cur)
		} else {
			if s.cur != nil {
				s.free <- s.cur
			}
			s.cur = <-s.full
		}
		s.idx = -1
	}
}

// setRow points cells at the current row's text.
func (s *Rows) setRow() {
	b := s.cur
	from := 0
	if s.idx > 0 {
		from = b.rows[s.idx-1].ends
	}
	s.cells = s.cells[:0]
	for _, sp := range b.spans[from:b.rows[s.idx].ends] {
		src := b.arena
		if sp.shared {
			src = s.sst.data
		}
		s.cells = append(s.cells, src[sp.start:sp.end:sp.end])
	}
}

// Row returns the current row's 1-based number in the sheet and the text of
// its cells by column (empty for an empty cell). Valid until Next.
func (s *Rows) Row() (int, [][]byte) { return s.cur.rows[s.idx].num, s.cells }

// Err is the error that stopped Next, nil at a clean end: a *ParseError.
func (s *Rows) Err() error { return s.e }

// Sheet is the name of the sheet being read.
func (s *Rows) Sheet() string { return s.name }

// Close stops the goroutines and releases the buffers; it is safe to call
// more than once.
func (s *Rows) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.stop != nil {
		close(s.stop)
		<-s.scanned
		<-s.pipe.exited
	}
	return s.entry.Close()
}

// fill reads rows into b until it holds blockRows rows or blockBytes of
// text, or the rows end (b.last).
func (s *sheetReader) fill(b *rowBlock) {
	s.arena, s.spans = b.arena[:0], b.spans[:0]
	b.rows = b.rows[:0]
	// Spans count too: a sparse row (one cell at column XFD) has next to no
	// text but a span for every column before it.
	for len(b.rows) < blockRows && len(s.arena)+spanSize*len(s.spans) < blockBytes {
		if !s.nextRow() {
			b.last, b.err = true, s.e
			break
		}
		b.rows = append(b.rows, blockRow{num: s.rowNum, ends: len(s.spans)})
	}
	b.arena, b.spans = s.arena, s.spans
}

// errStopped ends a read that close interrupted.
var errStopped = errors.New("source closed")
