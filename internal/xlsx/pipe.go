package xlsx

import (
	"io"
)

const (
	pipeChunk  = 256 << 10
	pipeChunks = 4
)

// pipe reads r on its own goroutine, a few chunks ahead of its reader, so
// that inflating a sheet and scanning it run on different cores: inflating
// alone is about a third of the work. Read is for one goroutine; once stop
// is closed, exited is closed when the goroutine has returned.
type pipe struct {
	full   chan chunk
	free   chan []byte
	stop   chan struct{}
	exited chan struct{}
	cur    chunk
	off    int
	err    error
}

type chunk struct {
	b   []byte
	err error
}

// newPipe starts reading r; closing stop ends the goroutine.
func newPipe(r io.Reader, stop chan struct{}) *pipe {
	p := &pipe{
		full:   make(chan chunk, pipeChunks),
		free:   make(chan []byte, pipeChunks),
		stop:   stop,
		exited: make(chan struct{}),
	}
	for range pipeChunks {
		p.free <- make([]byte, pipeChunk)
	}
	go p.run(r)
	return p
}

func (p *pipe) run(r io.Reader) {
	defer close(p.exited)
	for {
		var b []byte
		select {
		case b = <-p.free:
		case <-p.stop:
			return
		}
		n, err := fillChunk(r, b)
		select {
		case p.full <- chunk{b: b[:n], err: err}:
		case <-p.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// fillChunk reads into b until it is full or r fails; zero-byte reads are
// retried a bounded number of times, as bufio does.
func fillChunk(r io.Reader, b []byte) (int, error) {
	n, empty := 0, 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
		if m == 0 {
			if empty++; empty >= 100 {
				return n, io.ErrNoProgress
			}
		}
	}
	return n, nil
}

func (p *pipe) Read(b []byte) (int, error) {
	for p.off == len(p.cur.b) {
		if p.err != nil {
			return 0, p.err
		}
		if p.cur.b != nil {
			p.free <- p.cur.b[:cap(p.cur.b)]
		}
		select {
		case p.cur = <-p.full:
		case <-p.stop:
			p.cur = chunk{err: errStopped}
		}
		p.off, p.err = 0, p.cur.err
	}
	n := copy(b, p.cur.b[p.off:])
	p.off += n
	return n, nil
}
