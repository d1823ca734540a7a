package sink

import "io"

// gate stands between an encoder and the output. Once shut it discards
// writes, so a failed or aborted encoder can still be closed to free its
// memory (pqarrow frees buffers only on a successful Close) without
// appending a footer that would make a partial output look complete.
type gate struct {
	w    io.Writer
	shut bool
}

func (g *gate) Write(p []byte) (int, error) {
	if g.shut {
		return len(p), nil
	}
	return g.w.Write(p)
}
