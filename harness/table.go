//go:build cgo

package harness

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/wadeep/wadeep/arrowconv"
)

// TableWriter fills a table with batches of one schema, through the
// Appender, in one transaction: the table appears (or replaces the one of
// its name) at Close, or not at all. Not safe for concurrent use; the first
// error sticks.
type TableWriter struct {
	d      *DB
	ctx    context.Context
	schema *arrow.Schema
	cols   []int
	app    *duckdb.Appender
	err    error
	done   bool
}

// NewTableWriter starts replacing table name (in main) with batches of
// schema. With keepFiles, rows whose "file" column names one of them are
// deleted from an existing table instead and the batches appended (the
// rejects table: each run replaces its own files' rejects). A column wadeep
// never carries is refused; personal-data field metadata becomes a column
// comment.
func (d *DB) NewTableWriter(ctx context.Context, name string, schema *arrow.Schema, keepFiles ...string) (*TableWriter, error) {
	var defs []string
	for _, f := range schema.Fields() {
		if arrowconv.NeverCarried(f.Name) {
			return nil, fmt.Errorf("harness: column %q: wadeep never writes it (docs/privacy.md)", f.Name)
		}
		t, err := duckType(f.Type)
		if err != nil {
			return nil, fmt.Errorf("%w (column %q)", err, f.Name)
		}
		defs = append(defs, quote(f.Name)+" "+t)
	}
	if err := d.exec(ctx, "BEGIN TRANSACTION"); err != nil {
		return nil, err
	}
	w := &TableWriter{d: d, ctx: ctx, schema: schema}
	err := w.start(name, defs, keepFiles)
	if err != nil {
		d.exec(ctx, "ROLLBACK")
		return nil, err
	}
	return w, nil
}

func (w *TableWriter) start(name string, defs []string, keepFiles []string) error {
	d, ctx := w.d, w.ctx
	if keepFiles != nil {
		if err := d.exec(ctx, "CREATE TABLE IF NOT EXISTS "+quote(name)+" ("+strings.Join(defs, ", ")+")"); err != nil {
			return err
		}
		args := make([]any, len(keepFiles))
		marks := make([]string, len(keepFiles))
		for i, f := range keepFiles {
			args[i], marks[i] = f, "?"
		}
		if len(keepFiles) > 0 {
			if err := d.exec(ctx, "DELETE FROM "+quote(name)+" WHERE file IN ("+strings.Join(marks, ", ")+")", args...); err != nil {
				return err
			}
		}
	} else if err := d.exec(ctx, "CREATE OR REPLACE TABLE "+quote(name)+" ("+strings.Join(defs, ", ")+")"); err != nil {
		return err
	}
	if err := d.markPersonalData(ctx, name, w.schema); err != nil {
		return err
	}
	cols, err := d.columns(ctx, name)
	if err != nil {
		return err
	}
	for _, c := range cols {
		k := -1
		if idx := w.schema.FieldIndices(c); len(idx) == 1 {
			k = idx[0]
		}
		w.cols = append(w.cols, k)
	}
	return d.raw(func(c driver.Conn) error {
		app, err := duckdb.NewAppender(c, "", "main", name)
		if err != nil {
			return fmt.Errorf("harness: %s: table %s: %w", d.path, name, err)
		}
		w.app = app
		return nil
	})
}

// Write appends rec, whose schema must equal the writer's.
func (w *TableWriter) Write(rec arrow.RecordBatch) error {
	switch {
	case w.err != nil:
		return w.err
	case w.done:
		return errors.New("harness: write after close")
	case !rec.Schema().Equal(w.schema):
		w.err = fmt.Errorf("harness: batch schema %s differs from the table's %s", rec.Schema(), w.schema)
	default:
		w.err = appendRecord(w.app, rec, w.cols)
	}
	return w.err
}

// Close commits the table.
func (w *TableWriter) Close() error {
	if w.done {
		return w.err
	}
	w.done = true
	if w.err == nil {
		if err := w.app.Close(); err != nil {
			w.err = fmt.Errorf("harness: %s: %w", w.d.path, err)
		}
	}
	if w.err != nil {
		w.d.exec(w.ctx, "ROLLBACK")
		return w.err
	}
	w.err = w.d.exec(w.ctx, "COMMIT")
	return w.err
}

// Abort gives the table up: the database is as before NewTableWriter.
func (w *TableWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.app.Close()
	if w.err == nil {
		w.err = errors.New("harness: writer aborted")
	}
	return w.d.exec(w.ctx, "ROLLBACK")
}
