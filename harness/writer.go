//go:build cgo

package harness

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/wadeep/wadeep/arrowconv"
)

// ProfileWriter merges profile batches into the profiles table: rows are
// staged until EndChunk (or Close), which merges them by number in one
// transaction with the chunk's tasks row. A profile replaces the one held
// for its number only if its checked_at is not older; a process killed
// midway leaves the database as it was before the chunk. Not safe for
// concurrent use; the first error sticks.
type ProfileWriter struct {
	d      *DB
	ctx    context.Context
	schema *arrow.Schema
	cols   []int    // rec column of each profiles column, -1 for none
	names  []string // profiles columns written
	inTx   bool
	rows   int64
	app    *duckdb.Appender
	err    error
	closed bool
}

const stageTable = "wadeep_stage"

// NewProfileWriter returns a writer of batches of schema into profiles.
// The schema must have a number column; columns beyond the profile
// schema's become VARCHAR columns of profiles (pass-through columns);
// ColSource is left out. A column wadeep never carries is refused.
func (d *DB) NewProfileWriter(ctx context.Context, schema *arrow.Schema) (*ProfileWriter, error) {
	if len(schema.FieldIndices(arrowconv.ColNumber)) != 1 {
		return nil, fmt.Errorf("harness: %s: profile batches need one %q column", d.path, arrowconv.ColNumber)
	}
	fixed := map[string]bool{}
	for _, c := range profileColumns {
		fixed[c.name] = true
	}
	for _, f := range schema.Fields() {
		switch {
		case arrowconv.NeverCarried(f.Name):
			return nil, fmt.Errorf("harness: column %q: wadeep never writes it (docs/privacy.md)", f.Name)
		case f.Name == ColSource || fixed[f.Name]:
		default:
			if _, err := duckType(f.Type); err != nil {
				return nil, fmt.Errorf("%w (column %q)", err, f.Name)
			}
			if err := d.exec(ctx, "ALTER TABLE profiles ADD COLUMN IF NOT EXISTS "+quote(f.Name)+" VARCHAR"); err != nil {
				return nil, err
			}
		}
	}
	tableCols, err := d.columns(ctx, TableProfiles)
	if err != nil {
		return nil, err
	}
	w := &ProfileWriter{d: d, ctx: ctx, schema: schema}
	for _, name := range tableCols {
		idx := schema.FieldIndices(name)
		c := -1
		if len(idx) == 1 {
			c = idx[0]
		}
		w.cols, w.names = append(w.cols, c), append(w.names, name)
	}
	if err := d.exec(ctx, "CREATE OR REPLACE TEMP TABLE "+stageTable+" AS SELECT * FROM profiles LIMIT 0"); err != nil {
		return nil, err
	}
	return w, nil
}

// columns lists a main table's columns in order.
func (d *DB) columns(ctx context.Context, table string) ([]string, error) {
	rows, err := d.c.QueryContext(ctx, `SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = ? ORDER BY column_index`, table)
	if err != nil {
		return nil, fmt.Errorf("harness: %s: %w", d.path, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// Write stages rec's rows. rec is not kept.
func (w *ProfileWriter) Write(rec arrow.RecordBatch) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("harness: write after close")
	}
	w.err = w.write(rec)
	return w.err
}

func (w *ProfileWriter) write(rec arrow.RecordBatch) error {
	cols := w.cols
	if !rec.Schema().Equal(w.schema) {
		cols = make([]int, len(w.names))
		for k, name := range w.names {
			cols[k] = -1
			if idx := rec.Schema().FieldIndices(name); len(idx) == 1 {
				cols[k] = idx[0]
			}
		}
	}
	for _, f := range rec.Schema().Fields() {
		if arrowconv.NeverCarried(f.Name) {
			return fmt.Errorf("harness: column %q: wadeep never writes it (docs/privacy.md)", f.Name)
		}
	}
	if !w.inTx {
		if err := w.d.exec(w.ctx, "BEGIN TRANSACTION"); err != nil {
			return err
		}
		w.inTx = true
		err := w.d.raw(func(c driver.Conn) error {
			app, err := duckdb.NewAppender(c, "temp", "main", stageTable)
			w.app = app
			return err
		})
		if err != nil {
			return fmt.Errorf("harness: %s: %w", w.d.path, err)
		}
	}
	w.rows += rec.NumRows()
	return appendRecord(w.app, rec, cols)
}

// EndChunk merges the rows staged since the last EndChunk into profiles
// and records task (if its ID is set) in tasks, in one transaction.
func (w *ProfileWriter) EndChunk(task Task) error {
	if w.err != nil {
		return w.err
	}
	w.err = w.commit(&task)
	return w.err
}

func (w *ProfileWriter) commit(task *Task) error {
	ctx, d := w.ctx, w.d
	if !w.inTx {
		if task == nil || task.ID == "" {
			return nil
		}
		if err := d.exec(ctx, "BEGIN TRANSACTION"); err != nil {
			return err
		}
		w.inTx = true
	}
	if w.app != nil {
		err := w.app.Close()
		w.app = nil
		if err != nil {
			return fmt.Errorf("harness: %s: %w", d.path, err)
		}
	}
	set := make([]string, 0, len(w.names))
	vals := make([]string, 0, len(w.names))
	for _, n := range w.names {
		set = append(set, quote(n)+" = s."+quote(n))
		vals = append(vals, "s."+quote(n))
	}
	// The newest profile of a number wins; on a tie, the later write. A
	// profile without checked_at never replaces one with it.
	merge := `MERGE INTO profiles AS p
USING (SELECT * FROM temp.main.` + stageTable + ` QUALIFY row_number() OVER (PARTITION BY number ORDER BY checked_at DESC NULLS LAST) = 1) AS s
ON p.number = s.number
WHEN MATCHED AND (p.checked_at IS NULL OR s.checked_at >= p.checked_at) THEN UPDATE SET ` + strings.Join(set, ", ") + `
WHEN NOT MATCHED THEN INSERT (` + strings.Join(quoteAll(w.names), ", ") + `) VALUES (` + strings.Join(vals, ", ") + `)`
	err := d.exec(ctx, merge)
	if err == nil {
		err = d.exec(ctx, "DELETE FROM temp.main."+stageTable)
	}
	if err == nil && task != nil && task.ID != "" {
		err = d.exec(ctx, `INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, now(), ?, ?, ?)`,
			task.ID, task.Chunk, task.Status, task.Numbers, task.Profiles, task.Failed,
			nullTime(task.CreatedAt), nullTime(task.ExportedAt), task.Resumed, task.Creates, task.StatusCalls)
	}
	if err == nil {
		err = d.exec(ctx, "COMMIT")
	} else {
		d.exec(ctx, "ROLLBACK")
	}
	w.inTx = false
	return err
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func quoteAll(names []string) []string {
	out := slices.Clone(names)
	for i, n := range out {
		out[i] = quote(n)
	}
	return out
}

// Close merges what is staged and finishes the writer. It does not close
// the DB.
func (w *ProfileWriter) Close() error {
	if w.closed {
		return w.err
	}
	if w.err == nil {
		w.err = w.commit(nil)
	}
	w.closed = true
	w.drop()
	return w.err
}

// Abort drops the rows staged since the last EndChunk; merged chunks stay.
func (w *ProfileWriter) Abort() error {
	if w.closed {
		return nil
	}
	w.closed = true
	var err error
	if w.app != nil {
		w.app.Close()
		w.app = nil
	}
	if w.inTx {
		err = w.d.exec(w.ctx, "ROLLBACK")
		w.inTx = false
	}
	w.drop()
	if w.err == nil {
		w.err = errors.New("harness: writer aborted")
	}
	return err
}

func (w *ProfileWriter) drop() {
	w.d.exec(context.WithoutCancel(w.ctx), "DROP TABLE IF EXISTS temp.main."+stageTable)
}
