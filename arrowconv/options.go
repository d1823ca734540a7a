package arrowconv

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Defaults of the reader's options.
const (
	DefaultBatchRows  = 64 << 10 // rows per record batch
	DefaultBatchBytes = 32 << 20 // cell text per record batch, a cap for wide or long rows
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
}

func newConfig(opts []Option) *config {
	c := &config{
		mem:        memory.DefaultAllocator,
		batchRows:  DefaultBatchRows,
		batchBytes: DefaultBatchBytes,
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
	return c
}

// WithAllocator sets the allocator of the record batches.
func WithAllocator(mem memory.Allocator) Option { return func(c *config) { c.mem = mem } }

// WithBatchRows sets the most rows in one record batch.
func WithBatchRows(n int) Option { return func(c *config) { c.batchRows = n } }

// WithBatchBytes caps the cell text held in one record batch, whatever its row count.
func WithBatchBytes(n int) Option { return func(c *config) { c.batchBytes = n } }

// WithTask stamps every row with the task it came from and the time the
// upstream last updated that task (the task_id and checked_at columns).
func WithTask(taskID string, updatedAt time.Time) Option {
	return func(c *config) { c.task, c.checkedAt = taskID, updatedAt }
}

// WithExpected names the numbers that were uploaded for this result. Those
// missing from the file come out at the end as rows with status failed: the
// upstream omits numbers it could not process. The slice is read, not kept
// past the Reader's life, and must not change meanwhile.
func WithExpected(numbers []string) Option { return func(c *config) { c.expected = numbers } }

// WithMissingColumns lets documented result columns other than Number be
// absent; their profile columns come out null. By default a missing column
// is an error, since it usually means the file is not an upstream result.
func WithMissingColumns() Option { return func(c *config) { c.allowMissing = true } }

// WithName sets the file name that errors cite (OpenFile sets it).
func WithName(name string) Option { return func(c *config) { c.name = name } }
