package sink

import (
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// Option configures a writer. Options that do not apply to the chosen format
// are ignored, so one option list can serve every format.
type Option func(*config)

type config struct {
	mem         memory.Allocator
	compression compress.Compression
	sheet       string
	header      bool
	tempDir     string // a private directory for spill files; "" makes one in os.TempDir when needed
}

func newConfig(opts []Option) config {
	cfg := config{
		mem:         memory.DefaultAllocator,
		compression: compress.Codecs.Zstd,
		sheet:       "Sheet1",
		header:      true,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.mem == nil {
		cfg.mem = memory.DefaultAllocator
	}
	return cfg
}

// WithAllocator sets the allocator for Arrow buffers the writer creates
// (Arrow and Parquet). Tests pass a memory.CheckedAllocator to find leaks.
func WithAllocator(mem memory.Allocator) Option {
	return func(c *config) { c.mem = mem }
}

// WithCompression sets the Parquet codec. The default is zstd: smaller than
// snappy at similar speed, and read by DuckDB, Spark, pandas and Polars.
func WithCompression(codec compress.Compression) Option {
	return func(c *config) { c.compression = codec }
}

// WithSheetName sets the XLSX sheet name (default "Sheet1"). Excel's rules
// apply: at most 31 characters, none of : \ / ? * [ ].
func WithSheetName(name string) Option {
	return func(c *config) { c.sheet = name }
}

// WithHeader turns the header row of field names on (the default) or off,
// for CSV and XLSX.
func WithHeader(on bool) Option {
	return func(c *config) { c.header = on }
}
