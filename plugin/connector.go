package plugin

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Connector is what a host codes against: *Plugin (a plugin process) and
// *InProcess (the library in the host's process) both satisfy it, so a
// pipeline switches between them by one line.
//
// Every method takes the whole Config: the plugin keeps no state between
// calls beyond the state directory on disk.
type Connector interface {
	// Info says which protocol and wadeep version answer, what they can do,
	// and the config's JSON Schema.
	Info(ctx context.Context) (Info, error)
	// Validate checks cfg without any network call; a bad config is a
	// *ConfigError that names every bad field.
	Validate(ctx context.Context, cfg Config) error
	// Discover gives the Arrow schemas of the input Write accepts and of the
	// profiles Read streams, plain and enriched.
	Discover(ctx context.Context, cfg Config) (*Schemas, error)
	// Write is the destination side: it reads numbers to its end (without
	// releasing it), plans and journals them in cfg.StateDir and creates the
	// upstream's tasks (charged), then returns the plan's counts and
	// rejects. Writing the same table to the same state directory again
	// creates nothing new.
	Write(ctx context.Context, cfg Config, numbers array.RecordReader) (*WriteResult, error)
	// Read is the source side: it streams the profiles of the job Write
	// stored in cfg.StateDir, watching its tasks until they are done. On a
	// state directory whose tasks are done it makes no charged call. The
	// caller releases the Reader.
	Read(ctx context.Context, cfg Config, opts ...ReadOption) (*Reader, error)
	// Close ends the connector; for a plugin, its process.
	Close() error
}

// Info describes the connector that answers.
type Info struct {
	Protocol     int      // the plugin protocol version, ProtocolVersion
	Version      string   // wadeep's module version ("(devel)" for a local build)
	Capabilities []string // e.g. "write", "read", "checkpoint", "progress", "enrich"
	ConfigSchema []byte   // the JSON Schema of Config's JSON form
}

// Schemas are the Arrow schemas Discover reports.
type Schemas struct {
	// Input is the least schema Write accepts: the numbers column (utf8;
	// integer columns are read as their decimal text). Other columns are
	// kept for the enriched view.
	Input *arrow.Schema
	// Profiles is the schema of every batch Read streams (one row per
	// distinct number).
	Profiles *arrow.Schema
	// Enriched is the schema Read streams when Config.Enrich is set: the
	// input's columns (those of the table Write stored, when the state
	// directory has one; else Input's), then the profile columns.
	Enriched *arrow.Schema
}

// WriteResult is what Write planned and created.
type WriteResult struct {
	Rows     int // input rows read, blank ones included; Rows = Numbers + Rejected + Blank
	Numbers  int // distinct numbers to check
	Rejected int // rows not uploaded (invalid, duplicate, empty, too long)
	Blank    int // blank rows, skipped
	Tasks    int // upstream tasks, one per chunk
	Created  int // tasks this Write created (charged)
	Resumed  int // tasks created earlier (by an earlier Write or run)
	// Rejects are the rejected rows: file, row, value, reason (the
	// connector's RejectSchema). The caller releases it.
	Rejects array.RecordReader
}

// Release releases the rejects.
func (r *WriteResult) Release() {
	if r != nil && r.Rejects != nil {
		r.Rejects.Release()
	}
}

// Progress is a snapshot of a running Read: the numbers the CLI shows.
type Progress struct {
	Elapsed   time.Duration
	Total     int  // numbers in all chunks
	Done      int  // numbers the upstream has finished
	Estimated bool // Done includes an extrapolation since the last status call
	ETA       time.Duration
	Tasks     int // tasks of the job
	TasksDone int // tasks whose profiles are kept
	Calls     Calls
}

// Calls counts the upstream calls of a Read.
type Calls struct {
	Creates   int64 // tasks created (charged)
	Statuses  int64 // status calls answered (charged)
	Downloads int64 // result files downloaded (free)
	Errors    int64 // refused or failed calls (free)
}

// Charged is the number of calls the upstream bills.
func (c Calls) Charged() int64 { return c.Creates + c.Statuses }

// Checkpoint is an opaque position in a Read's stream. A host may store
// it; Read with FromCheckpoint(cp) on the same state directory and config
// resumes after the last batch delivered before it, no row twice.
type Checkpoint []byte

// ReadOption tunes one Read.
type ReadOption func(*readOptions)

type readOptions struct {
	from Checkpoint
}

// FromCheckpoint resumes a Read where the stream that gave cp stopped. A
// nil cp starts at the beginning.
func FromCheckpoint(cp Checkpoint) ReadOption {
	return func(o *readOptions) { o.from = cp }
}

func readOptionsOf(opts []ReadOption) readOptions {
	var o readOptions
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}
