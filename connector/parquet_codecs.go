package connector

import (
	"fmt"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
)

// Parquet's zstd and snappy page decoders, as arrow-go registers them, size
// their output by the length the compressed bytes declare, not by the page's
// own (bounded) uncompressed size: a Parquet file of a kilobyte whose zstd
// frame declares 60 GB made wadeep die of "fatal error: runtime: out of
// memory", which no recover catches (found by FuzzReadTable; the crasher is
// in testdata/fuzz/FuzzReadTable). These replacements decode into the page's
// buffer and fail when the bytes declare more than it holds; encoding is
// arrow-go's own. arrow-go's codec registry is global and meant to be set
// from init (a map without a lock), hence this init: it changes nothing for
// a well-formed file.
func init() {
	for kind, fixed := range map[compress.Compression]func(streamingCodec) compress.Codec{
		compress.Codecs.Zstd:   func(c streamingCodec) compress.Codec { return boundedZstd{c} },
		compress.Codecs.Snappy: func(c streamingCodec) compress.Codec { return boundedSnappy{c} },
	} {
		if orig, err := compress.GetCodec(kind); err == nil {
			if c, ok := orig.(streamingCodec); ok {
				compress.RegisterCodec(kind, fixed(c))
			}
		}
	}
}

// streamingCodec is what arrow-go's zstd and snappy codecs implement; the
// bounded ones keep all of it but the block decoding.
type streamingCodec interface {
	compress.Codec
	compress.StreamingCodec
}

// boundedZstd decodes a zstd page into no more than its buffer.
type boundedZstd struct{ streamingCodec }

var zstdPageDecoder = func() *zstd.Decoder {
	d, err := zstd.NewReader(nil, zstd.WithDecodeAllCapLimit(true), zstd.WithDecoderConcurrency(0))
	if err != nil {
		panic(err) // only for invalid options
	}
	return d
}()

func (c boundedZstd) Decode(dst, src []byte) []byte {
	out, err := c.DecodeWithError(dst, src)
	if err != nil {
		panic(err) // compress.Decode recovers it; arrow-go calls DecodeWithError
	}
	return out
}

func (c boundedZstd) DecodeWithError(dst, src []byte) ([]byte, error) {
	out, err := zstdPageDecoder.DecodeAll(src, dst[:0])
	if err != nil {
		return nil, fmt.Errorf("zstd page (%d bytes uncompressed): %w", len(dst), err)
	}
	return out, nil
}

// boundedSnappy refuses a snappy page that declares more than its buffer.
type boundedSnappy struct{ streamingCodec }

func (c boundedSnappy) Decode(dst, src []byte) []byte {
	out, err := c.DecodeWithError(dst, src)
	if err != nil {
		panic(err)
	}
	return out
}

func (c boundedSnappy) DecodeWithError(dst, src []byte) ([]byte, error) {
	n, err := snappy.DecodedLen(src)
	if err != nil {
		return nil, err
	}
	if n > len(dst) {
		return nil, fmt.Errorf("snappy page: its data declares %d bytes uncompressed, its header %d", n, len(dst))
	}
	return snappy.Decode(dst, src)
}
