package arrowconv

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/wadeep/wadeep/internal/xlsx"
)

// Defaults of the reader's options.
const (
	DefaultBatchRows  = 64 << 10 // rows per record batch
	DefaultBatchBytes = 32 << 20 // cell text per record batch, a cap for wide or long rows
)

// Default limits against hostile files. Each has an option to change it; a
// value of zero or below keeps the default, since a reader without a bound
// is never safe on a file from the network.
const (
	// DefaultMaxUncompressed bounds the bytes inflated from the archive, all
	// parts together.
	DefaultMaxUncompressed = xlsx.DefaultMaxUncompressed
	// DefaultMaxCompressionRatio bounds uncompressed:compressed bytes of one
	// zip entry once it has inflated past 8 MiB. Sheet XML compresses about
	// 10:1 and deflate tops out near 1030:1; a zip bomb sits near the top.
	DefaultMaxCompressionRatio = xlsx.DefaultMaxCompressionRatio
	// DefaultMaxRows is Excel's sheet height; no spreadsheet program writes a
	// taller sheet, and the upstream's tasks are far smaller.
	DefaultMaxRows = xlsx.DefaultMaxRows
	// DefaultMaxColumns bounds a row's width. A result has eight columns;
	// Excel's own limit (16,384, column XFD) would let one crafted row of a
	// single far cell cost 16k empty cells, a million rows of them minutes
	// of work. Raise it with WithMaxColumns up to Excel's.
	DefaultMaxColumns = xlsx.DefaultMaxColumns
	// DefaultMaxCellBytes is Excel's 32,767 characters per cell at up to four
	// bytes of UTF-8 each.
	DefaultMaxCellBytes = xlsx.DefaultMaxCellBytes
	// DefaultMaxSharedStrings bounds the entries of the shared string table.
	DefaultMaxSharedStrings = xlsx.DefaultMaxSharedStrings
	// DefaultMaxSharedStringBytes bounds the text of the shared string table,
	// which is held in memory while the sheet is read.
	DefaultMaxSharedStringBytes = xlsx.DefaultMaxSharedStringBytes
)

// Option configures a Reader.
type Option func(*config)

type config struct {
	mem          memory.Allocator
	batchRows    int
	batchBytes   int
	task         string
	checkedAt    time.Time
	expected     []string
	allowMissing bool
	name         string
	limits       xlsx.Limits // the bounds against hostile files; see the Default constants
}

func newConfig(opts []Option) *config {
	c := &config{
		mem:        memory.DefaultAllocator,
		batchRows:  DefaultBatchRows,
		batchBytes: DefaultBatchBytes,
		limits:     xlsx.DefaultLimits(),
	}
	for _, o := range opts {
		o(c)
	}
	if c.batchRows <= 0 {
		c.batchRows = DefaultBatchRows
	}
	if c.batchBytes <= 0 {
		c.batchBytes = DefaultBatchBytes
	}
	c.limits.RowBytes = c.batchBytes // a row cannot be split across batches
	return c
}

// WithAllocator sets the allocator of the record batches.
func WithAllocator(mem memory.Allocator) Option { return func(c *config) { c.mem = mem } }

// WithBatchRows sets the most rows in one record batch.
func WithBatchRows(n int) Option { return func(c *config) { c.batchRows = n } }

// WithBatchBytes caps the cell text held in one record batch, whatever its
// row count. A row cannot be split across batches, so a row with more cell
// text than this is an error.
func WithBatchBytes(n int) Option { return func(c *config) { c.batchBytes = n } }

// WithTask stamps every row with the task it came from and the time the
// upstream last updated that task (the task_id and checked_at columns).
func WithTask(taskID string, updatedAt time.Time) Option {
	return func(c *config) { c.task, c.checkedAt = taskID, updatedAt }
}

// WithExpected names the numbers that were uploaded for this result. Those
// missing from the file come out at the end as rows with status failed: the
// upstream omits numbers it could not process. Rows for numbers not in the
// list, and repeated rows for one number, are left out and counted (see
// Reader.Dropped), so the output has exactly one row per expected number.
// The slice must not change during the Reader's life.
func WithExpected(numbers []string) Option { return func(c *config) { c.expected = numbers } }

// WithMissingColumns lets documented result columns other than Number be
// absent; their profile columns come out null. By default a missing column
// is an error, since it usually means the file is not an upstream result.
func WithMissingColumns() Option { return func(c *config) { c.allowMissing = true } }

// WithName sets the file name that errors cite (OpenFile sets it).
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithMaxUncompressed bounds the bytes inflated from the archive, all parts
// together (default DefaultMaxUncompressed).
func WithMaxUncompressed(n int64) Option {
	return func(c *config) { setLimit(&c.limits.Uncompressed, n) }
}

// WithMaxCompressionRatio bounds the ratio of uncompressed to compressed
// bytes of one zip entry, checked once the entry has inflated past 8 MiB
// (default DefaultMaxCompressionRatio, meaning 200:1).
func WithMaxCompressionRatio(n int) Option {
	return func(c *config) { setLimit(&c.limits.Ratio, int64(n)) }
}

// WithMaxRows bounds the row numbers and the count of rows of the sheet,
// header included (default DefaultMaxRows).
func WithMaxRows(n int) Option { return func(c *config) { setLimit(&c.limits.Rows, n) } }

// WithMaxColumns bounds the columns of a row (default DefaultMaxColumns).
func WithMaxColumns(n int) Option { return func(c *config) { setLimit(&c.limits.Columns, n) } }

// WithMaxCellBytes bounds the bytes of text in one cell (default
// DefaultMaxCellBytes).
func WithMaxCellBytes(n int) Option { return func(c *config) { setLimit(&c.limits.CellBytes, n) } }

// WithMaxSharedStrings bounds the entries of the shared string table
// (default DefaultMaxSharedStrings).
func WithMaxSharedStrings(n int) Option {
	return func(c *config) { setLimit(&c.limits.SharedStrings, n) }
}

// WithMaxSharedStringBytes bounds the text of the shared string table, which
// the reader holds in memory (default DefaultMaxSharedStringBytes; at most
// 4 GiB).
func WithMaxSharedStringBytes(n int64) Option {
	return func(c *config) { setLimit(&c.limits.SharedStringBytes, min(n, 1<<32-1)) }
}

// setLimit keeps the default for a value of zero or below.
func setLimit[T int | int64](dst *T, n T) {
	if n > 0 {
		*dst = n
	}
}
