//go:build !cgo

package harness

import (
	"context"
	"database/sql"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// DB is a DuckDB database; without cgo, none can be opened.
type DB struct{}

// Open returns ErrNoCgo in a build without cgo.
func Open(path string) (*DB, error) { return nil, ErrNoCgo }

// OpenFiles returns ErrNoCgo in a build without cgo.
func OpenFiles(ctx context.Context, paths []string) (*DB, error) { return nil, ErrNoCgo }

func (d *DB) Path() string    { return "" }
func (d *DB) Conn() *sql.Conn { return nil }
func (d *DB) Close() error    { return nil }
func (d *DB) NewProfileWriter(ctx context.Context, schema *arrow.Schema) (*ProfileWriter, error) {
	return nil, ErrNoCgo
}
func (d *DB) NewTableWriter(ctx context.Context, name string, schema *arrow.Schema, keepFiles ...string) (*TableWriter, error) {
	return nil, ErrNoCgo
}
func (d *DB) Fresh(ctx context.Context, numbers []string, since time.Time) ([]bool, error) {
	return nil, ErrNoCgo
}
func (d *DB) Profiles(ctx context.Context, numbers []string) (array.RecordReader, error) {
	return nil, ErrNoCgo
}

// ProfileWriter merges profile batches into profiles; see the cgo build.
type ProfileWriter struct{}

func (w *ProfileWriter) Write(rec arrow.RecordBatch) error { return ErrNoCgo }
func (w *ProfileWriter) EndChunk(task Task) error          { return ErrNoCgo }
func (w *ProfileWriter) Close() error                      { return ErrNoCgo }
func (w *ProfileWriter) Abort() error                      { return nil }

// TableWriter fills a table; see the cgo build.
type TableWriter struct{}

func (w *TableWriter) Write(rec arrow.RecordBatch) error         { return ErrNoCgo }
func (w *TableWriter) Close() error                              { return ErrNoCgo }
func (w *TableWriter) Abort() error                              { return nil }
func (d *DB) UseNumbers(ctx context.Context, keyID string) error { return ErrNoCgo }
