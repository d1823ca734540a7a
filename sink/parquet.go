package sink

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Row groups are closed at whichever limit comes first. A buffered row group
// is held in memory (encoded and compressed) until it closes, so the byte
// limit bounds memory; the row limit keeps groups small enough for readers to
// skip and parallelise (DuckDB reads 122,880-row groups per thread).
const (
	parquetRowGroupRows  = 1 << 20
	parquetRowGroupBytes = 64 << 20
)

// parquetEncoder writes Parquet through pqarrow with the Arrow schema stored
// in the file metadata, so dictionary, int16 and timestamp(ms, UTC) columns
// and field metadata read back as written. Two types do not survive, for
// Parquet's and pqarrow's reasons: second-unit timestamps are stored (and
// read) as milliseconds, and dictionary<large_utf8> reads back with utf8
// values.
type parquetEncoder struct {
	fw       *pqarrow.FileWriter
	finished bool
}

func newParquet(out io.Writer, schema *arrow.Schema, cfg config) (*parquetEncoder, error) {
	if _, err := compress.GetCodec(cfg.compression); err != nil {
		return nil, fmt.Errorf("sink: parquet: compression %s: %w", cfg.compression, err)
	}
	props := parquet.NewWriterProperties(
		parquet.WithAllocator(cfg.mem),
		parquet.WithCompression(cfg.compression),
		parquet.WithMaxRowGroupLength(parquetRowGroupRows),
		parquet.WithDictionaryDefault(true),
		parquet.WithStats(true),
	)
	arrowProps := pqarrow.NewArrowWriterProperties(
		pqarrow.WithStoreSchema(),
		pqarrow.WithAllocator(cfg.mem),
	)
	fw, err := pqarrow.NewFileWriter(schema, out, props, arrowProps)
	if err != nil {
		return nil, fmt.Errorf("sink: parquet: %w", err)
	}
	return &parquetEncoder{fw: fw}, nil
}

func (e *parquetEncoder) write(rec arrow.RecordBatch, _ int64) error {
	// WriteBuffered appends to the open row group (Write would start one per
	// batch, and small batches would make a file of tiny row groups).
	if err := e.fw.WriteBuffered(rec); err != nil {
		return fmt.Errorf("sink: parquet: %w", err)
	}
	if e.fw.RowGroupTotalCompressedBytes() >= parquetRowGroupBytes {
		if err := e.fw.NewBufferedRowGroupChecked(); err != nil {
			return fmt.Errorf("sink: parquet: %w", err)
		}
	}
	return nil
}

func (e *parquetEncoder) finish() error {
	e.finished = true
	if err := e.fw.Close(); err != nil {
		return fmt.Errorf("sink: parquet: %w", err)
	}
	return nil
}

func (e *parquetEncoder) release() error {
	if !e.finished {
		_ = e.fw.Close() // the gate is shut: this only frees memory
	}
	return nil
}
